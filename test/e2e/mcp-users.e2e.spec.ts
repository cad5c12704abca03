import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { Service, signIn, startService, startWorld, World } from '../support/harness.js';
import { connectV1, connectV2, rawMcp } from '../support/mcp-clients.js';
import { tokensThroughOAuth } from '../support/oauth-consent.js';

const ADA = 'mcp-ada@example.com';
const BOB = 'mcp-bob@example.com';
const G = 'https://www.googleapis.com/auth/';

/** Message ids a search tool returns. */
const searchIds = (r: object) => ((r as { structuredContent?: unknown }).structuredContent as { messages: Array<{ id: string }> }).messages.map((m) => m.id);

describe('MCP endpoint: users, replicas, revocation, scopes, tool sets', () => {
  let world: World;
  let a: Service;
  let b: Service;
  const services: Service[] = [];

  beforeAll(async () => {
    world = await startWorld();
    // Two replicas on one bucket; a short session cache so the other replica notices a revocation quickly.
    a = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, SESSION_CACHE_TTL_MS: '300' });
    b = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, SESSION_CACHE_TTL_MS: '300' });
    services.push(a, b);
  });
  afterAll(async () => {
    for (const s of services) await s.close();
    await world?.close();
  });

  it('two users in parallel each see only their own mailbox; no tool takes a user', async () => {
    const [ada, bob] = await Promise.all([signIn(a, world, ADA), signIn(a, world, BOB)].map(async (p) => connectV2(`${a.url}/mcp`, (await p).access_token)));
    try {
      const [adaFound, bobFound] = await Promise.all([ada, bob].map((c) => c.callTool({ name: 'search_gmail_messages', arguments: { maxResults: 50 } })));
      expect(searchIds(adaFound).sort()).toEqual([...world.google.messageIds(ADA)].sort());
      expect(searchIds(bobFound).sort()).toEqual([...world.google.messageIds(BOB)].sort());
      // Bob asks for one of Ada's messages by id: Google (as Bob) does not know it.
      const stolen = await bob.callTool({ name: 'get_gmail_message_content', arguments: { messageId: world.google.messageIds(ADA)[0] } });
      expect(stolen.isError).toBe(true);
      const asAda = await bob.callTool({ name: 'list_gmail_labels', arguments: { userId: ADA } });
      expect(asAda.isError).toBe(true);
      expect(JSON.parse((asAda.content as Array<{ text: string }>)[0].text)).toMatchObject({ statusCode: 400, message: expect.stringContaining('"userId" is not a parameter') });
    } finally {
      await Promise.all([ada.close(), bob.close()]);
    }
  });

  it('two replicas serve alternating requests of one client (stateless), old and new SDK clients', async () => {
    const token = (await signIn(a, world, ADA)).access_token;
    const seen: string[] = [];
    let turn = 0;
    // Every request of the client goes to the other replica than the one before.
    const alternate = ((input: string | URL | Request, init?: RequestInit) => {
      const target = [a, b][turn++ % 2];
      seen.push(target.url);
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      return fetch(`${target.url}${url.pathname}${url.search}`, init);
    }) as typeof fetch;
    const v2 = await connectV2(`${a.url}/mcp`, token, { fetch: alternate });
    const v1 = await connectV1(`${a.url}/mcp`, token, { fetch: alternate });
    try {
      for (let i = 0; i < 3; i++) {
        expect((await v2.listTools()).tools.length).toBeGreaterThan(30);
        expect(searchIds(await v1.callTool({ name: 'search_gmail_messages', arguments: {} }))).toEqual(expect.arrayContaining([world.google.messageIds(ADA)[0]]));
      }
      expect(new Set(seen)).toEqual(new Set([a.url, b.url]));
    } finally {
      await Promise.all([v1.close(), v2.close()]);
    }
  });

  it('after /auth/revoke the next tool call is 401: at once on the replica that revoked, within SESSION_CACHE_TTL_MS on the other', async () => {
    const token = (await signIn(a, world, BOB)).access_token;
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_gmail_labels', arguments: {} } };
    expect((await rawMcp(`${a.url}/mcp`, token, list, '2025-11-25')).status).toBe(200);
    expect((await rawMcp(`${b.url}/mcp`, token, list, '2025-11-25')).status).toBe(200);
    const revoked = await fetch(`${a.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(revoked.status).toBe(200);
    const onA = await rawMcp(`${a.url}/mcp`, token, list, '2025-11-25');
    expect(onA.status).toBe(401);
    expect(onA.headers.get('www-authenticate')).toContain('error="invalid_token"');
    await new Promise((r) => setTimeout(r, 300 + 1500)); // the cache TTL, plus a generous margin for a loaded machine
    expect((await rawMcp(`${b.url}/mcp`, token, list, '2025-11-25')).status).toBe(401);
  });

  it('a tool the token has no scope for: marked in tools/list, and its call is the step-up 403 naming the scope', async () => {
    const narrow = await startService(world, { GOOGLE_SCOPES: `${G}gmail.readonly` });
    services.push(narrow);
    const token = (await signIn(narrow, world, 'mcp-narrow@example.com')).access_token;
    const listed = await rawMcp(`${narrow.url}/mcp`, token, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, '2025-11-25');
    const tools = listed.json.result.tools as Array<{ name: string; description: string; _meta: Record<string, unknown> }>;
    expect(tools.find((t) => t.name === 'search_gmail_messages')!._meta['workspace/scopeGranted']).toBe(true);
    const send = tools.find((t) => t.name === 'send_gmail_message')!;
    expect(send._meta).toMatchObject({ 'workspace/scopeGranted': false, 'workspace/scope': `${G}gmail.send` });
    expect(send.description).toContain(`needs the scope ${G}gmail.send`);
    const call = await rawMcp(`${narrow.url}/mcp`, token, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'send_gmail_message', arguments: { to: ['x@example.com'], subject: 's', text: 't' } } }, '2025-11-25');
    expect(call.status).toBe(403);
    expect(call.headers.get('www-authenticate')).toBe(`Bearer error="insufficient_scope", scope="${G}gmail.send", resource_metadata="${narrow.url}/.well-known/oauth-protected-resource/mcp"`);
    expect(call.json).toMatchObject({ statusCode: 403, error: 'insufficient_scope' });
    expect(world.google.apiCalls.filter((c) => c.email === 'mcp-narrow@example.com' && c.path.includes('send'))).toEqual([]);
  });

  it('a token for another resource (/v1/users/me/gmail) is refused on /mcp; one for /mcp works', async () => {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
    const gmailOnly = await tokensThroughOAuth(world, a.url, ADA, { params: { resource: `${a.url}/v1/users/me/gmail` } });
    const refused = await rawMcp(`${a.url}/mcp`, gmailOnly.access_token, list, '2025-11-25');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain(`resource_metadata="${a.url}/.well-known/oauth-protected-resource/mcp"`);
    const forMcp = await tokensThroughOAuth(world, a.url, ADA, { params: { resource: `${a.url}/mcp` } });
    expect((await rawMcp(`${a.url}/mcp`, forMcp.access_token, list, '2025-11-25')).status).toBe(200);
    expect((await fetch(`${a.url}/v1/users/me/gmail/labels`, { headers: { authorization: `Bearer ${forMcp.access_token}` } })).status).toBe(401);
  });

  it("a Google grant without the tool's scope: an OAuth client's tool error says to authorize the application again, not /auth/google", async () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_gmail_labels', arguments: {} } };
    const refusedBy = async (token: string) => {
      world.google.failNext('api', 'insufficient_permissions');
      const res = await rawMcp(`${a.url}/mcp`, token, call, '2025-11-25');
      expect([res.status, res.json.result.isError]).toEqual([200, true]);
      return JSON.parse(res.json.result.content[0].text) as { statusCode: number; error: string; message: string; scope: string };
    };
    const app = await tokensThroughOAuth(world, a.url, ADA, { params: { resource: `${a.url}/mcp` } });
    const toApp = await refusedBy(app.access_token);
    expect(toApp).toMatchObject({ statusCode: 403, error: 'insufficient_scope', scope: `${G}gmail.readonly` });
    expect(toApp.message).toMatch(/authorize this application again: disconnect and reconnect this server/);
    expect(toApp.message).not.toContain('/auth/google');
    // A script holding the person's own browser sign-in token signs in again there, as on the REST routes.
    const script = await refusedBy((await signIn(a, world, ADA)).access_token);
    expect(script).toMatchObject({ error: 'insufficient_scope', message: expect.stringContaining('sign in again at /auth/google') });
  });

  it('MCP_TOOLS and MCP_READ_ONLY choose the tools; a hidden tool cannot be called', async () => {
    const core = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, MCP_TOOLS: 'core', MCP_READ_ONLY: 'true' });
    const picked = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, MCP_TOOLS: 'contacts, create_event' });
    services.push(core, picked);
    const token = (await signIn(core, world, ADA)).access_token;
    const c1 = await connectV2(`${core.url}/mcp`, token);
    const c2 = await connectV2(`${picked.url}/mcp`, token);
    try {
      const names = (await c1.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['search_gmail_messages', 'get_gmail_message_content', 'get_events', 'read_sheet_values']));
      expect(names).not.toContain('send_gmail_message'); // core, but not read-only
      expect(names).not.toContain('list_gmail_labels'); // read-only, but extended
      await expect(c1.callTool({ name: 'send_gmail_message', arguments: { to: ['x@example.com'], subject: 's', text: 't' } })).rejects.toMatchObject({ code: -32602 });
      expect((await c2.listTools()).tools.map((t) => t.name).sort()).toEqual(['create_event', 'get_contact', 'search_contacts']);
    } finally {
      await Promise.all([c1.close(), c2.close()]);
    }
    await expect(startService(world, { MCP_TOOLS: 'core,telepathy' })).rejects.toThrow(/MCP_TOOLS names telepathy/);
  });
});
