import type { Client } from '@modelcontextprotocol/client';
import { startSignedIn } from '../support/api-client.js';
import { SignJWT } from 'jose';
import { JWT_SECRET, Service, signIn, stopAll, World } from '../support/harness.js';
import { claimsOf } from '../support/oauth-tokens.js';
import { connectV1, connectV2, rawMcp } from '../support/mcp-clients.js';
import { WORKSPACE_CATALOGUE } from '../../src/workspace/catalogue/catalogue.js';

const USER = 'mcp-user@example.com';

describe('MCP endpoint: the official SDK clients over Streamable HTTP', () => {
  let world: World;
  let sut: Service;
  let token: string;
  let client: Client;
  let url: string;

  beforeAll(async () => {
    ({ world, sut, token } = await startSignedIn(USER));
    url = `${sut.url}/mcp`;
    client = await connectV2(url, token);
  });
  afterAll(async () => {
    await client?.close();
    await stopAll(world, sut);
  });

  it('lists every catalogue operation as a tool, with input and output schemas and annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(WORKSPACE_CATALOGUE.map((op) => op.tool).sort());
    const send = tools.find((t) => t.name === 'send_gmail_message')!;
    expect(send.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true });
    expect(send.inputSchema).toMatchObject({ type: 'object', required: expect.arrayContaining(['to', 'subject']) });
    expect(Object.keys(send.inputSchema.properties ?? {})).not.toContain('userId');
    const search = tools.find((t) => t.name === 'search_gmail_messages')!;
    expect(search.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(search.outputSchema).toMatchObject({ type: 'object' });
  });

  it('calls Gmail tools: search, then read a message; structuredContent plus a text copy', async () => {
    const found = await client.callTool({ name: 'search_gmail_messages', arguments: { maxResults: 2 } });
    expect(found.isError).toBeFalsy();
    const messages = (found.structuredContent as { messages: Array<{ id: string }> }).messages;
    expect(messages).toHaveLength(2);
    expect(world.google.messageIds(USER)).toEqual(expect.arrayContaining(messages.map((m) => m.id)));
    const text = (found.content as Array<{ type: string; text: string }>)[0];
    expect(text.type).toBe('text');
    expect(text.text).toContain(messages[0].id);
    const one = await client.callTool({ name: 'get_gmail_message_content', arguments: { messageId: messages[0].id } });
    expect(one.structuredContent).toMatchObject({ id: messages[0].id, headers: { to: USER } });
  });

  it('answers protocol 2025-11-25 (the v2 client), 2025-06-18 and the older SDK client', async () => {
    const init = await rawMcp(url, token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    expect(init.status).toBe(200);
    expect(init.json.result.protocolVersion).toBe('2025-06-18');
    const listed = await rawMcp(url, token, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }, '2025-06-18');
    expect(listed.json.result.tools.length).toBe(WORKSPACE_CATALOGUE.length);
    const init2 = await rawMcp(url, token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    expect(init2.json.result.protocolVersion).toBe('2025-11-25');
    const v1 = await connectV1(url, token);
    try {
      const labels = await v1.callTool({ name: 'list_gmail_labels', arguments: {} });
      expect((labels.structuredContent as { labels: Array<{ id: string }> }).labels.map((l) => l.id)).toContain('INBOX');
    } finally {
      await v1.close();
    }
  });

  it('answers the 2026-07-28 era (v2 client pinned to it)', async () => {
    const modern = await connectV2(url, token, { negotiation: { pin: '2026-07-28' } });
    try {
      const labels = await modern.callTool({ name: 'list_calendars', arguments: {} });
      expect(labels.isError).toBeFalsy();
      expect((labels.structuredContent as { calendars: unknown[] }).calendars.length).toBeGreaterThan(0);
    } finally {
      await modern.close();
    }
  });

  it('GET and DELETE /mcp: 405, no server-initiated streams or sessions', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
      expect({ method, status: res.status }).toEqual({ method, status: 405 });
      expect(res.headers.get('allow')).toContain('POST');
    }
  });

  it('a JSON-RPC batch is refused with 400 (not part of MCP since 2025-06-18), and none of its calls runs', async () => {
    const create = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'create_task', arguments: { listId: '@default', title: `batched ${id}` } } });
    for (const version of ['2025-06-18', '2025-11-25', undefined]) {
      const res = await rawMcp(url, token, [create(1), create(2)], version);
      expect({ version, status: res.status, error: res.json?.error }).toEqual({ version, status: 400, error: 'batch_not_supported' });
    }
    const titles = async () => ((await client.callTool({ name: 'list_tasks', arguments: { listId: '@default' } })).structuredContent as { tasks: Array<{ title: string }> }).tasks.map((t) => t.title);
    expect(await titles()).not.toEqual(expect.arrayContaining(['batched 1']));
    expect((await rawMcp(url, token, create(3), '2025-11-25')).status).toBe(200); // one message per POST still works
    expect(await titles()).toEqual(expect.arrayContaining(['batched 3']));
    expect(await titles()).not.toEqual(expect.arrayContaining(['batched 1']));
  });

  it('without a bearer: 401 pointing at the protected resource metadata', async () => {
    const res = await rawMcp(url, undefined, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer resource_metadata="${sut.url}/\\.well-known/oauth-protected-resource/mcp", scope="[^"]*gmail`));
    const metadata = await (await fetch(`${sut.url}/.well-known/oauth-protected-resource/mcp`)).json();
    expect(metadata).toMatchObject({ resource: url, scopes_supported: expect.arrayContaining(['https://www.googleapis.com/auth/gmail.readonly']) });
  });

  it('every 401 at /mcp says how an MCP client gets a token (OAuth, resource_metadata), never /auth/google; REST keeps /auth/google', async () => {
    // A session of its own, so the suite's token stays good.
    const ended = await signIn(sut, world, USER);
    expect((await fetch(`${sut.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${ended.access_token}` } })).status).toBe(204);
    // The suite's live token's claims, signed with the service's key: expired, or for another resource.
    const now = Math.floor(Date.now() / 1000);
    const resign = (changes: Record<string, unknown>) => new SignJWT({ ...claimsOf(token), ...changes }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JWT_SECRET));
    const expired = await resign({ iat: now - 3600, exp: now - 1 });
    const gmailOnly = await resign({ aud: `${sut.url}/v1/users/me/gmail`, iat: now, exp: now + 600 });
    const cases: Array<[string, string | undefined, string]> = [
      ['no token', undefined, 'missing_token'],
      ['a token in quotes', `Bearer "${token}"`, 'invalid_token'],
      ['not a bearer header', 'Basic dXNlcjpwYXNz', 'invalid_token'],
      ['a token we never issued', 'Bearer not.a.token', 'invalid_token'],
      ['an expired token', `Bearer ${expired}`, 'invalid_token'],
      ['a token whose session ended', `Bearer ${ended.access_token}`, 'session_ended'],
      ['a token for another resource', `Bearer ${gmailOnly}`, 'invalid_token'],
    ];
    const metadata = `resource_metadata="${sut.url}/.well-known/oauth-protected-resource/mcp"`;
    for (const [what, authorization, error] of cases) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization ? { authorization } : {}) },
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}',
      });
      const body = (await res.json()) as { error: string; message: string };
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect({ what, status: res.status, error: body.error, metadata: challenge.startsWith(`Bearer ${metadata}`) }).toEqual({ what, status: 401, error, metadata: true });
      expect({ what, invalid: challenge.includes('error="invalid_token"') }).toEqual({ what, invalid: error !== 'missing_token' });
      expect({ what, message: body.message }).toEqual({ what, message: expect.stringContaining('Connect this application again (OAuth: see resource_metadata in WWW-Authenticate)') });
      expect({ what, message: body.message }).toEqual({ what, message: expect.not.stringContaining('/auth/google') });
    }
    // The same refusals on a REST route: a REST caller signs in in a browser.
    for (const [what, authorization, error] of cases.filter(([what]) => what !== 'a token for another resource')) {
      const rest = await fetch(`${sut.url}/auth/session`, { headers: authorization ? { authorization } : {} });
      expect({ what, status: rest.status, body: await rest.json() }).toEqual({
        what,
        status: 401,
        body: expect.objectContaining({ error, message: expect.stringContaining('Sign in at /auth/google and send the access_token') }),
      });
    }
  });

  it('calls a tool of every service against Google (emulator)', async () => {
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = await client.callTool({ name, arguments: args });
      expect({ name, isError: r.isError ?? false }).toEqual({ name, isError: false });
      return r.structuredContent as Record<string, any>;
    };
    const files = await call('search_drive_files', {});
    expect(files.files.map((f: { id: string }) => f.id)).toEqual(expect.arrayContaining(world.google.itemIds('drive', USER)));
    const text = await call('get_drive_file_content', { fileId: world.google.itemIds('drive', USER)[2] });
    expect(text).toMatchObject({ encoding: 'utf-8', content: expect.any(String) });
    const event = await call('create_event', { summary: 'MCP review', start: '2026-03-02T10:00:00Z', end: '2026-03-02T11:00:00Z' });
    expect((await call('get_event', { eventId: event.id })).summary).toBe('MCP review');
    expect(await call('delete_event', { eventId: event.id })).toEqual({ deleted: true });
    const doc = await call('create_doc', { title: 'From MCP', text: 'hello from a tool' });
    expect((await call('get_doc_content', { documentId: doc.documentId })).text).toContain('hello from a tool');
    const sheet = world.google.spreadsheetId(USER);
    await call('modify_sheet_values', { spreadsheetId: sheet, range: 'Sheet1!A1:B1', values: [['a', 1]] });
    expect((await call('read_sheet_values', { spreadsheetId: sheet, range: 'Sheet1!A1:B1' })).values).toEqual([['a', '1']]);
    const task = await call('create_task', { listId: '@default', title: 'Tool task' });
    expect((await call('list_tasks', { listId: '@default' })).tasks.map((t: { id: string }) => t.id)).toContain(task.id);
    expect((await call('search_contacts', { q: 'ada' })).contacts.map((c: { name: string }) => c.name)).toEqual(['Ada Lovelace']);
    const sent = await call('send_gmail_message', { to: ['friend@example.com'], subject: 'Hi', text: 'Sent by a tool' });
    expect(sent.id).toEqual(expect.any(String));
  });

  it('create_drive_file takes an upload as large as the REST route does (over the 1 MiB default body)', async () => {
    const bytes = Buffer.alloc(2 * 1024 * 1024, 'a');
    const created = await client.callTool({ name: 'create_drive_file', arguments: { name: 'big.txt', mimeType: 'text/plain', content: bytes.toString('base64') } });
    expect(created.isError).toBeFalsy();
    const id = (created.structuredContent as { id: string }).id;
    expect(world.google.driveFile(USER, id)?.bytes?.equals(bytes)).toBe(true);
  });

  it('get_drive_file_content reads at most 1 MiB: a larger file is an isError 413 naming the REST route that streams it', async () => {
    const small = Buffer.from('small file, read whole');
    const big = Buffer.alloc(1024 * 1024 + 1, 'b');
    const ids = await Promise.all(
      [small, big].map(async (bytes, i) => {
        const created = await client.callTool({ name: 'create_drive_file', arguments: { name: `read-${i}.txt`, mimeType: 'text/plain', content: bytes.toString('base64') } });
        return (created.structuredContent as { id: string }).id;
      }),
    );
    const read = await client.callTool({ name: 'get_drive_file_content', arguments: { fileId: ids[0] } });
    expect(read.structuredContent).toMatchObject({ fileId: ids[0], encoding: 'utf-8', size: small.length, content: small.toString() });
    const tooLarge = await client.callTool({ name: 'get_drive_file_content', arguments: { fileId: ids[1] } });
    expect(tooLarge.isError).toBe(true);
    expect(JSON.parse((tooLarge.content as Array<{ text: string }>)[0].text)).toMatchObject({
      statusCode: 413,
      error: 'content_too_large',
      message: expect.stringContaining(`/v1/users/me/drive/files/${ids[1]}/content`),
    });
  });

  it('invalid arguments: a tool error (isError, 400) naming each field for the model to correct (SEP-1303); an unknown tool: JSON-RPC -32602', async () => {
    const refused = async (name: string, args: Record<string, unknown>) => {
      const res = await client.callTool({ name, arguments: args });
      expect(res.isError).toBe(true);
      return JSON.parse((res.content as Array<{ text: string }>)[0].text);
    };
    const calls = world.google.apiCalls.length;
    expect(await refused('get_gmail_message_content', { messageId: '../../etc' })).toMatchObject({
      statusCode: 400,
      error: 'invalid_request',
      message: expect.stringMatching(/^Invalid arguments for get_gmail_message_content: "messageId" .*call get_gmail_message_content again/),
    });
    expect(await refused('create_event', { summary: 'x', start: '2026-01-01T11:00:00Z', end: '2026-01-01T10:00:00Z' })).toMatchObject({ statusCode: 400, message: expect.stringContaining('"end" must be after start') });
    expect(await refused('search_gmail_messages', { userId: 'someone@example.com' })).toMatchObject({ statusCode: 400, message: expect.stringContaining('"userId" is not a parameter') });
    expect(world.google.apiCalls.length).toBe(calls);
    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('Unknown tool') });
  });

  it("Google's errors are tool errors with the REST guidance: not found, rate limited with retry-after", async () => {
    const missing = await client.callTool({ name: 'get_gmail_message_content', arguments: { messageId: 'doesnotexist' } });
    expect(missing.isError).toBe(true);
    const body = JSON.parse((missing.content as Array<{ text: string }>)[0].text);
    expect(body).toMatchObject({ statusCode: 404, error: 'not_found', message: expect.stringContaining('Check the id') });
    world.google.failNext('api', 'rate_limit');
    const limited = await client.callTool({ name: 'list_gmail_labels', arguments: {} });
    expect(limited.isError).toBe(true);
    expect(JSON.parse((limited.content as Array<{ text: string }>)[0].text)).toMatchObject({ statusCode: 429, error: 'rate_limited', retryAfter: 7 });
  });
});
