import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { Service, signIn, startService, startWorld, World } from '../support/harness.js';
import { connectV2 } from '../support/mcp-clients.js';

const APP = 'https://agent.example.com';
const EVIL = 'https://evil.example.net';

/** A preflight exactly as a browser sends it before a cross-origin POST with these headers. */
const preflight = (url: string, origin: string, headers = 'authorization,content-type,mcp-protocol-version') =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers } });

describe('CORS for browser-based MCP and OAuth clients', () => {
  let world: World;
  let listed: Service;
  let closed: Service;

  beforeAll(async () => {
    world = await startWorld();
    listed = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, CORS_ORIGINS: `${APP}, http://localhost:6274` });
    closed = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES });
  });
  afterAll(async () => {
    await listed?.close();
    await closed?.close();
    await world?.close();
  });

  it('answers the preflight of /mcp, /oauth/register and /oauth/revoke for a listed origin, without credentials', async () => {
    for (const path of ['/mcp', '/oauth/register', '/oauth/revoke']) {
      const res = await preflight(`${listed.url}${path}`, APP, 'authorization,content-type,mcp-protocol-version,mcp-session-id,last-event-id');
      expect({ path, status: res.status }).toEqual({ path, status: 204 });
      expect(res.headers.get('access-control-allow-origin')).toBe(APP);
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const h of ['authorization', 'content-type', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id']) expect(allowed).toContain(h);
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    }
  });

  it('lets the browser read the 401 challenge and the MCP answer (exposed headers)', async () => {
    const anonymous = await fetch(`${listed.url}/mcp`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('access-control-allow-origin')).toBe(APP);
    expect((anonymous.headers.get('access-control-expose-headers') ?? '').toLowerCase()).toContain('www-authenticate');
    expect((anonymous.headers.get('access-control-expose-headers') ?? '').toLowerCase()).toContain('mcp-session-id');
    const token = (await signIn(listed, world, 'cors-user@example.com')).access_token;
    const res = await fetch(`${listed.url}/mcp`, {
      method: 'POST',
      headers: { origin: 'http://localhost:6274', authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
  });

  it('a browser client of 2026-07-28 may send every header the official client sends (Mcp-Method, Mcp-Name): the preflight allows each', async () => {
    // The headers the v2 SDK client really sends in the 2026-07-28 era, for a tools/list and a tools/call.
    const sent = new Set<string>();
    const recording: typeof fetch = (input, init) => {
      new Headers(init?.headers).forEach((_value, name) => sent.add(name.toLowerCase()));
      return fetch(input, init);
    };
    const token = (await signIn(listed, world, 'cors-modern@example.com')).access_token;
    const client = await connectV2(`${listed.url}/mcp`, token, { negotiation: { pin: '2026-07-28' }, fetch: recording });
    try {
      await client.listTools();
      await client.callTool({ name: 'list_gmail_labels', arguments: {} });
    } finally {
      await client.close();
    }
    // A browser asks the preflight for every header that is not CORS-safelisted (Accept is; this Content-Type is not).
    const needPreflight = [...sent].filter((h) => h !== 'accept');
    expect(needPreflight).toEqual(expect.arrayContaining(['mcp-method', 'mcp-name', 'mcp-protocol-version', 'authorization']));
    const pre = await preflight(`${listed.url}/mcp`, APP, needPreflight.join(','));
    expect(pre.status).toBe(204);
    const allowed = (pre.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',').map((h) => h.trim());
    expect(needPreflight.filter((h) => !allowed.includes(h))).toEqual([]);
  });

  it('an origin not listed gets no CORS grant on /mcp, and its requests are refused (DNS rebinding rule)', async () => {
    const pre = await preflight(`${listed.url}/mcp`, EVIL);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const token = (await signIn(listed, world, 'cors-user@example.com')).access_token;
    const res = await fetch(`${listed.url}/mcp`, { method: 'POST', headers: { origin: EVIL, authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('origin_not_allowed');
    // Without CORS_ORIGINS no web origin may use /mcp or register clients.
    expect((await preflight(`${closed.url}/mcp`, APP)).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(`${closed.url}/oauth/register`, APP)).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a foreign origin is refused with 403 before anything else, also without a token or with a bad one (MCP transport: an invalid Origin MUST be 403)', async () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}';
    const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    for (const [what, init] of [
      ['POST, no token', { method: 'POST', headers: { origin: EVIL, ...json }, body }],
      ['POST, a token we never issued', { method: 'POST', headers: { origin: EVIL, authorization: 'Bearer not.a.token', ...json }, body }],
      ['GET, no token', { method: 'GET', headers: { origin: EVIL, accept: 'text/event-stream' } }],
      ['DELETE, no token', { method: 'DELETE', headers: { origin: EVIL } }],
    ] as const) {
      const res = await fetch(`${listed.url}/mcp`, init);
      const answer = (await res.json()) as { error: string };
      expect({ what, status: res.status, error: answer.error, acao: res.headers.get('access-control-allow-origin') }).toEqual({ what, status: 403, error: 'origin_not_allowed', acao: null });
    }
    // A listed origin and a caller without Origin (not a browser) still get the 401 challenge that starts OAuth.
    for (const headers of [{ origin: APP, ...json }, json]) {
      expect((await fetch(`${listed.url}/mcp`, { method: 'POST', headers, body })).status).toBe(401);
    }
  });

  it('metadata documents and the token endpoint are open to any origin by default (`*`, no credentials)', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource', '/.well-known/oauth-authorization-server']) {
      const res = await fetch(`${closed.url}${path}`, { headers: { origin: EVIL } });
      expect({ path, status: res.status, acao: res.headers.get('access-control-allow-origin') }).toEqual({ path, status: 200, acao: '*' });
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
    for (const path of ['/oauth/token', '/.well-known/oauth-protected-resource/v1/users/me/gmail', '/.well-known/jwks.json']) {
      const pre = await preflight(`${closed.url}${path}`, EVIL, 'content-type');
      expect({ path, status: pre.status, acao: pre.headers.get('access-control-allow-origin') }).toEqual({ path, status: 204, acao: '*' });
    }
    // With CORS_ORIGINS set, they are open to the listed origins only.
    expect((await fetch(`${listed.url}/.well-known/oauth-authorization-server`, { headers: { origin: APP } })).headers.get('access-control-allow-origin')).toBe(APP);
    expect((await fetch(`${listed.url}/.well-known/oauth-authorization-server`, { headers: { origin: EVIL } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('other routes stay without CORS: no grant on their answers, and their preflights are refused', async () => {
    const token = (await signIn(listed, world, 'cors-other@example.com')).access_token;
    for (const [path, headers] of [['/health/live', {}], ['/health/ready', {}], ['/auth/session', { authorization: `Bearer ${token}` }], ['/v1/users/me/gmail/messages', { authorization: `Bearer ${token}` }]] as const) {
      const res = await fetch(`${listed.url}${path}`, { headers: { origin: APP, ...headers } });
      expect({ path, status: res.status, acao: res.headers.get('access-control-allow-origin') }).toEqual({ path, status: 200, acao: null });
      const pre = await preflight(`${listed.url}${path}`, APP);
      expect({ path, status: pre.status, acao: pre.headers.get('access-control-allow-origin') }).toEqual({ path, status: 405, acao: null }); // OPTIONS is not one of their methods
    }
  });
});
