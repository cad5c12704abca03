import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ALL_WORKSPACE_SCOPES, apiClient } from '../support/api-client.js';
import { Service, signIn, startService, startWorld, stopAll, World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';

/*
 * An attacker's and a careless client's inputs to the Workspace REST routes and the MCP tools: every odd value is a
 * 4xx JSON error saying what to fix (never a 500 or a hang), nothing reaches Google that could address another
 * resource or user, and nothing a caller sends can add headers or recipients to a mail.
 */

const USER = 'sweep-user@example.com';
const OTHER = 'sweep-other@example.com';
const GMAIL = '/v1/users/me/gmail';
const FILES = '/v1/users/me/drive/files';

/**
 * A pass-through proxy in front of the Google emulator's API root that answers Drive downloads (`alt=media`) the way
 * an HTTP server may when the client accepts gzip (googleapis always sends `Accept-Encoding: gzip`): compressed, with
 * `Content-Encoding: gzip` and the Content-Length of the compressed bytes.
 */
async function gzippingProxy(upstream: string): Promise<{ url: string; gzipped: () => number; close: () => Promise<void> }> {
  let gzipped = 0;
  const server: Server = createServer((req, res) => {
    const target = new URL(req.url ?? '/', upstream);
    const up = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      const compress = target.searchParams.get('alt') === 'media' && answer.statusCode === 200 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      if (!compress) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = gzipSync(Buffer.concat(chunks));
        gzipped++;
        res.writeHead(200, { ...answer.headers, 'content-encoding': 'gzip', 'content-length': String(body.length) });
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    gzipped: () => gzipped,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('Workspace input sweep: odd and hostile inputs on the REST routes and MCP tools', () => {
  let world: World;
  let sut: Service;
  let proxy: Awaited<ReturnType<typeof gzippingProxy>>;
  let token: string;
  let call: ReturnType<typeof apiClient>;
  let ids: string[];

  beforeAll(async () => {
    world = await startWorld();
    proxy = await gzippingProxy(world.google.urls.apiRoot);
    sut = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, GOOGLE_API_ROOT_URL: proxy.url });
    token = (await signIn(sut, world, USER)).access_token;
    await signIn(sut, world, OTHER);
    call = apiClient(sut, token);
    ids = world.google.messageIds(USER);
  });
  afterAll(async () => {
    await sut?.close();
    await proxy?.close();
    await stopAll(world, undefined);
  });

  const googleCalls = (email = USER) => world.google.apiCalls.filter((c) => c.email === email).length;
  const sentTo = (email = USER) => world.google.apiCalls.filter((c) => c.email === email && /messages\/send|\/drafts/.test(c.path)).length;
  const mcp = (name: string, args: unknown) =>
    rawMcp(`${sut.url}/mcp`, token, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }, '2025-06-18');
  /** The JSON error body of a tool error result (isError: true), failing when the answer is anything else. */
  const toolError = (res: Awaited<ReturnType<typeof mcp>>) => {
    expect(res.json.error).toBeUndefined();
    expect(res.json.result).toMatchObject({ isError: true, content: [{ type: 'text' }] });
    return JSON.parse(res.json.result.content[0].text);
  };

  describe('ids longer than 100 characters (Gmail attachment ids are several hundred)', () => {
    it('reach Google instead of being refused by the router with a bare 414', async () => {
      const attachmentId = `ANGjdJ_${'x7Yq-'.repeat(80)}`; // the shape and length of a real Gmail attachment id
      const res = await call('GET', `${GMAIL}/messages/${ids[0]}/attachments/${attachmentId}`);
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ statusCode: 404, error: 'not_found', message: expect.stringContaining('Check the id') });
      const seen = world.google.apiCalls.filter((c) => c.email === USER && c.path.endsWith(`/attachments/${attachmentId}`));
      expect(seen).toHaveLength(1);
    });

    it('an id longer than any Google id is a 400 naming the parameter, in the service\'s error shape', async () => {
      const before = googleCalls();
      const res = await call('GET', `${GMAIL}/messages/${'a'.repeat(2049)}`);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ error: 'invalid_request', message: expect.stringContaining('"messageId"') });
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(googleCalls()).toBe(before);
    });
  });

  describe('Drive downloads that Google sends compressed', () => {
    it('streams the whole file, with no Content-Length of the compressed bytes', async () => {
      const text = `${'All work and no play makes Jack a dull boy.\n'.repeat(2000)}end\n`;
      const created = await call('POST', FILES, { name: 'big.txt', mimeType: 'text/plain', content: Buffer.from(text).toString('base64') });
      expect(created.status).toBe(201);
      const before = proxy.gzipped();
      const res = await fetch(`${sut.url}${FILES}/${created.json.id as string}/content`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(proxy.gzipped()).toBe(before + 1); // it did come compressed
      const length = res.headers.get('content-length');
      if (length !== null) expect(Number(length)).toBe(Buffer.byteLength(text));
      expect(await res.text()).toBe(text);
      // The connection is still usable afterwards (no stray bytes from the download on it).
      expect((await call('GET', `${GMAIL}/labels`)).status).toBe(200);
    });
  });

  describe('HEAD of a file\'s content', () => {
    it('answers the download\'s headers without downloading the file from Google', async () => {
      const text = 'x'.repeat(300_000);
      const created = await call('POST', FILES, { name: 'head.txt', mimeType: 'text/plain', content: Buffer.from(text).toString('base64') });
      const id = created.json.id as string;
      const downloads = () => world.google.apiCalls.filter((c) => c.email === USER && c.path.endsWith(`/files/${id}`) && /(^|&)alt=media(&|$)/.test(c.query)).length;
      const res = await fetch(`${sut.url}${FILES}/${id}/content`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.headers.get('content-disposition')).toContain('filename="head.txt"');
      expect(res.headers.get('content-length')).toBe(String(text.length));
      // A download the HEAD itself waited for was recorded by the emulator before this answer came back.
      expect(downloads()).toBe(0);
      // GET still downloads it. Its download is asked for after the HEAD's answer, a round trip of ours and a
      // metadata call later: a download the HEAD started in the background, even after answering, reaches Google
      // before it, so once this GET's bytes are all in, exactly one download means the HEAD made none.
      const got = await fetch(`${sut.url}${FILES}/${id}/content`, { headers: { authorization: `Bearer ${token}` } });
      expect(await got.text()).toBe(text);
      expect(downloads()).toBe(1);
    });
  });

  describe('Gmail: headers and senders come from the service, never from the caller', () => {
    it.each([
      ['CR/LF in the subject', { subject: 'Hi\r\nBcc: evil@example.com' }, 'subject'],
      ['a bare LF in the subject', { subject: 'Hi\nBcc: evil@example.com' }, 'subject'],
      ['CR/LF in a To address', { to: ['ada@example.com\r\nBcc: evil@example.com'] }, 'to.0'],
      ['a comma-joined To list in one entry', { to: ['ada@example.com, evil@example.com'] }, 'to.0'],
      ['CR/LF in a Cc address', { cc: ['grace@example.com\r\nX-Evil: 1'] }, 'cc.0'],
      ['CR/LF in a Bcc address', { bcc: ['a@example.com\nTo: evil@example.com'] }, 'bcc.0'],
      ['CR/LF in In-Reply-To', { inReplyTo: '<a@b>\r\nBcc: evil@example.com' }, 'inReplyTo'],
      ['a From of its own (another user)', { from: OTHER }, 'from'],
      ['a Sender header', { sender: OTHER }, 'sender'],
      ['raw headers', { headers: { Bcc: 'evil@example.com' } }, 'headers'],
      ['a subject as an array', { subject: ['a', 'b'] }, 'subject'],
      ['a To as a single string', { to: 'ada@example.com' }, 'to'],
      // RFC 5321 bounds an address at 254 characters; a 300 KB one went out as a header line Google would refuse.
      ['a To address of 300 KB', { to: [`${'a'.repeat(300_000)}@example.com`] }, 'to.0'],
      ['a Cc address of 255 characters', { cc: [`${'c'.repeat(243)}@example.com`] }, 'cc.0'],
    ])('refuses %s with a 400 naming the field; nothing is sent or drafted', async (_what, change, field) => {
      const before = sentTo();
      for (const path of [`${GMAIL}/messages`, `${GMAIL}/drafts`]) {
        const res = await call('POST', path, { to: ['ada@example.com'], subject: 'Hello', text: 'Body', ...change });
        expect(res.status).toBe(400);
        expect(res.json).toMatchObject({ statusCode: 400, error: 'invalid_request', message: expect.stringContaining(`"${field}"`) });
      }
      expect(sentTo()).toBe(before);
    });

    it('the same refusals through the MCP tools, before anything reaches Google', async () => {
      const before = sentTo();
      for (const tool of ['send_gmail_message', 'draft_gmail_message']) {
        const subject = await mcp(tool, { to: ['ada@example.com'], subject: 'Hi\r\nBcc: evil@example.com', text: 'x' });
        expect(toolError(subject)).toMatchObject({ statusCode: 400, error: 'invalid_request', message: expect.stringContaining('"subject"') });
        const from = await mcp(tool, { to: ['ada@example.com'], subject: 'Hi', text: 'x', from: OTHER });
        expect(toolError(from)).toMatchObject({ statusCode: 400, error: 'invalid_request', message: expect.stringContaining('"from" is not a parameter') });
      }
      expect(sentTo()).toBe(before);
    });

    it('Unicode line separators in a subject are encoded into one header, adding no recipient', async () => {
      const subject = 'Report\u2028Bcc: evil@example.com\u0085Cc: evil2@example.com';
      const res = await call('POST', `${GMAIL}/messages`, { to: ['ada@example.com'], subject, text: 'Body' });
      expect(res.status).toBe(201);
      const sent = await call('GET', `${GMAIL}/messages/${res.json.id as string}`);
      expect(sent.json.headers).toMatchObject({ from: USER, to: 'ada@example.com', cc: null, subject });
      const draft = await call('POST', `${GMAIL}/drafts`, { to: ['ada@example.com'], subject, html: '<p>x</p>' });
      const headers = world.google.draft(USER, draft.json.id as string)?.headers ?? [];
      expect(headers.filter((h) => /^(bcc|cc|to|from)$/i.test(h.name))).toEqual([
        { name: 'From', value: USER },
        { name: 'To', value: 'ada@example.com' },
      ]);
    });

    it('a body that looks like headers or a MIME boundary stays body text', async () => {
      const text = '\r\n\r\nBcc: evil@example.com\r\n--b_000\r\nContent-Type: text/html\r\n\r\n<script>x</script>';
      const res = await call('POST', `${GMAIL}/messages`, { to: ['ada@example.com'], subject: 'Body test', text });
      expect(res.status).toBe(201);
      const sent = await call('GET', `${GMAIL}/messages/${res.json.id as string}`);
      expect(sent.json).toMatchObject({ text, html: null, headers: { cc: null, to: 'ada@example.com' } });
    });
  });

  describe('ids that would change which Google resource or user is addressed', () => {
    it.each([
      ['a "/" in a message id', `${GMAIL}/messages/${encodeURIComponent('a/../../users/x')}`, 'messageId'],
      ['".." encoded as %2E%2E inside an id', `${GMAIL}/threads/a%2E%2E%2Fb`, 'threadId'],
      ['a "?" in an id', `${GMAIL}/messages/${encodeURIComponent('abc?userId=other')}`, 'messageId'],
      ['a "#" in an attachment id', `${GMAIL}/messages/${'m'.repeat(10)}/attachments/${encodeURIComponent('a#b')}`, 'attachmentId'],
      ['a double-encoded "/" (%252F)', `${FILES}/a%252Fb`, 'fileId'],
      ['a NUL in a Drive file id', `${FILES}/a%00b/content`, 'fileId'],
      ['CR/LF in an event id', `/v1/users/me/calendar/events/a%0D%0Ab`, 'eventId'],
      ['".." as a calendar id', `/v1/users/me/calendar/events?calendarId=..`, 'calendarId'],
      ['a "/" in a calendar id', `/v1/users/me/calendar/events?calendarId=${encodeURIComponent('primary/../../users/me/calendarList')}`, 'calendarId'],
      ['a task list id with "/"', `/v1/users/me/tasks/lists/${encodeURIComponent('@default/../x')}/tasks`, 'listId'],
      ['a contact resource name instead of an id', `/v1/users/me/contacts/${encodeURIComponent('people/c1')}`, 'contactId'],
      ['".." as a Sheets range', `/v1/users/me/sheets/spreadsheets/abc/values?range=..`, 'range'],
      ['a unicode id', `/v1/users/me/docs/documents/${encodeURIComponent('dоc')}`, 'documentId'],
    ])('%s: 400 naming the parameter, and no Google call', async (_what, path, field) => {
      const before = googleCalls();
      const res = await call('GET', path);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ statusCode: 400, error: 'invalid_request', message: expect.stringContaining(`"${field}"`) });
      expect(googleCalls()).toBe(before);
    });

    it('a calendar id with "#" and "+" reaches Google percent-encoded, as one path segment', async () => {
      const res = await call('GET', `/v1/users/me/calendar/events?calendarId=${encodeURIComponent('en.usa#holiday+x@group.v.calendar.google.com')}`);
      expect(res.status).toBe(404);
      const last = world.google.apiCalls.filter((c) => c.email === USER && c.api === 'calendar').at(-1)!;
      const segment = /^\/calendar\/v3\/calendars\/([^/]+)\/events$/.exec(last.path)?.[1];
      expect(segment).toMatch(/%23/); // not a fragment that would cut the URL short
      expect(decodeURIComponent(segment!)).toBe('en.usa#holiday+x@group.v.calendar.google.com');
    });

    it('a quoted Sheets range with "/", "?" and "#" stays one percent-encoded path segment', async () => {
      const id = world.google.spreadsheetId(USER);
      await call('GET', `/v1/users/me/sheets/spreadsheets/${id}/values?range=${encodeURIComponent("'a/../b?c#d'!A1")}`);
      const last = world.google.apiCalls.filter((c) => c.email === USER && c.api === 'sheets').at(-1)!;
      const segment = new RegExp(`^/v4/spreadsheets/${id}/values/([^/]+)$`).exec(last.path)?.[1];
      expect(decodeURIComponent(segment!)).toBe("'a/../b?c#d'!A1");
    });
  });

  describe('query strings and bodies of the wrong shape', () => {
    it.each([
      ['a repeated query parameter', `${GMAIL}/messages?q=a&q=b`, '"q"'],
      ['a negative page size', `${FILES}?pageSize=-1`, '"pageSize"'],
      ['a huge page size', `${FILES}?pageSize=1e400`, '"pageSize"'],
      ['a fractional maxResults', `${GMAIL}/messages?maxResults=1.5`, '"maxResults"'],
      ['an empty maxResults', `/v1/users/me/calendar/events?maxResults=`, '"maxResults"'],
      ['a page token with CR/LF', `${GMAIL}/messages?pageToken=a%0D%0Ab`, '"pageToken"'],
      ['an unknown query parameter (__proto__)', `${GMAIL}/messages?__proto__=x`, '"__proto__"'],
      ['a Drive fields selector with a quote', `${FILES}?fields=${encodeURIComponent("id,name'")}`, '"fields"'],
      ['a 2049-character search query', `${FILES}?q=${'a'.repeat(2049)}`, '"q"'],
      ['more than 50 batch ids', `${GMAIL}/messages/batch?ids=${Array.from({ length: 51 }, (_, i) => `m${i}`).join(',')}`, '"ids"'],
      ['a batch id with a "/"', `${GMAIL}/messages/batch?ids=a,${encodeURIComponent('b/../c')}`, '"ids'],
    ])('%s: 400 naming it', async (_what, path, field) => {
      const before = googleCalls();
      const res = await call('GET', path);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ statusCode: 400, message: expect.stringContaining(field) });
      expect(googleCalls()).toBe(before);
    });

    it.each([
      ['null', 'null'],
      ['an array', '[{"to":["a@example.com"],"subject":"s","text":"t"}]'],
      ['a string', '"hello"'],
      ['deeply nested arrays', `{"to":${'['.repeat(100_000)}${']'.repeat(100_000)},"subject":"s","text":"t"}`],
      ['a __proto__ key', '{"__proto__":{"admin":true},"to":["a@example.com"],"subject":"s","text":"t"}'],
    ])('a JSON body that is %s: a 4xx JSON error, nothing sent', async (_what, body) => {
      const before = sentTo();
      const res = await fetch(`${sut.url}${GMAIL}/messages`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const json = (await res.json()) as { statusCode: number; message: string };
      expect(json.statusCode).toBe(res.status);
      expect(json.message).not.toMatch(/ at .*\.(ts|js):\d+/); // no stack trace
      expect(sentTo()).toBe(before);
    });

    it('a /mcp body nested millions deep (within its 7 MB limit) is refused before it is parsed; the replica keeps answering', async () => {
      // JSON.parse of 6 MB of "[" held this replica's event loop for seconds (every user waited); no tool needs depth.
      const depth = 3_000_000;
      const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_gmail_message","arguments":{"to":${'['.repeat(depth)}${']'.repeat(depth)},"subject":"s","text":"t"}}}`;
      const before = sentTo();
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
      const res = await fetch(`${sut.url}/mcp`, { method: 'POST', headers, body });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ statusCode: 400, error: 'nested_too_deeply', message: expect.stringContaining('64') });
      // The same on a REST route; ordinary nesting (Sheets rows, Calendar times, MCP's own objects) is untouched.
      const rest = await fetch(`${sut.url}${GMAIL}/messages`, { method: 'POST', headers, body: `{"to":${'['.repeat(65)}${']'.repeat(65)}}` });
      expect([rest.status, ((await rest.json()) as { error: string }).error]).toEqual([400, 'nested_too_deeply']);
      const quoted = await call('POST', `${GMAIL}/messages`, { to: ['ada@example.com'], subject: '[[[{{{', text: `${'['.repeat(100)} "\\" ${'{'.repeat(100)}` });
      expect(quoted.status).toBe(201);
      expect(sentTo()).toBe(before + 1);
    });

    it('a JSON body that is not UTF-8 (Latin-1 "é") is a 400 saying so; nothing is sent with "�" in it, by REST or MCP', async () => {
      // RFC 8259: JSON between systems is UTF-8. Decoded leniently, each Latin-1 "é" became U+FFFD and the mail went out.
      const latin1 = (json: string) => Buffer.from(json, 'latin1');
      const before = sentTo();
      const rest = await fetch(`${sut.url}${GMAIL}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: latin1('{"to":["ada@example.com"],"subject":"Caf\u00e9","text":"R\u00e9sum\u00e9 attached"}'),
      });
      expect(rest.status).toBe(400);
      expect(await rest.json()).toMatchObject({ statusCode: 400, error: 'invalid_encoding', message: expect.stringContaining('UTF-8') });
      const viaMcp = await fetch(`${sut.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
        body: latin1('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"send_gmail_message","arguments":{"to":["ada@example.com"],"subject":"Caf\u00e9","text":"x"}}}'),
      });
      expect(viaMcp.status).toBe(400);
      expect(await viaMcp.json()).toMatchObject({ statusCode: 400, error: 'invalid_encoding' });
      expect(sentTo()).toBe(before);
      // The same text in UTF-8 goes out as written.
      const utf8 = await call('POST', `${GMAIL}/messages`, { to: ['ada@example.com'], subject: 'Caf\u00e9', text: 'R\u00e9sum\u00e9 attached' });
      expect(utf8.status).toBe(201);
      expect((await call('GET', `${GMAIL}/messages/${utf8.json.id as string}`)).json).toMatchObject({ headers: { subject: 'Caf\u00e9' }, text: 'R\u00e9sum\u00e9 attached' });
    });

    it('a body above 1 MiB on a JSON route is a 413, not buffered', async () => {
      const res = await call('POST', '/v1/users/me/docs/documents', { title: 't', text: 'x'.repeat(1_100_000) });
      expect(res.status).toBe(413);
      expect(res.json.statusCode).toBe(413);
    });

    it('an upload above 5 MB once decoded is a 400 or 413, and nothing reaches Drive', async () => {
      const before = world.google.apiCalls.filter((c) => c.email === USER && c.method === 'POST' && c.path.includes('/files')).length;
      const res = await call('POST', FILES, { name: 'big.bin', content: Buffer.alloc(5 * 1024 * 1024 + 10).toString('base64') });
      expect([400, 413]).toContain(res.status);
      expect(world.google.apiCalls.filter((c) => c.email === USER && c.method === 'POST' && c.path.includes('/files')).length).toBe(before);
    });
  });

  describe('user isolation', () => {
    it.each([
      ['another user', `/v1/users/${OTHER}/gmail/messages`],
      ['another user, upper-cased', `/v1/users/${OTHER.toUpperCase()}/drive/files`],
      ['"me" with a path behind it', `/v1/users/${encodeURIComponent(`me/../${OTHER}`)}/gmail/labels`],
      ['"ME"', '/v1/users/ME/calendar/calendars'],
      ['another user\'s email of 120 characters', `/v1/users/${'o'.repeat(108)}@example.com/gmail/labels`],
    ])('%s as {userId}: 403 forbidden_user, and nothing reaches Google for anyone', async (_what, path) => {
      const [mine, theirs] = [googleCalls(USER), googleCalls(OTHER)];
      const res = await call('GET', path);
      expect(res.status).toBe(403);
      expect(res.json.error).toBe('forbidden_user');
      expect([googleCalls(USER), googleCalls(OTHER)]).toEqual([mine, theirs]);
    });

    it('an MCP tool takes no user argument: userId, email or user are refused, and the caller\'s own mailbox is used', async () => {
      for (const key of ['userId', 'email', 'user']) {
        const res = await mcp('list_gmail_labels', { [key]: OTHER });
        expect(toolError(res)).toMatchObject({ statusCode: 400, message: expect.stringContaining(`"${key}" is not a parameter`) });
      }
      const theirs = googleCalls(OTHER);
      const mine = await mcp('get_gmail_message_content', { messageId: world.google.messageIds(OTHER)[0] });
      expect(mine.json.result).toMatchObject({ isError: true });
      expect(JSON.parse(mine.json.result.content[0].text)).toMatchObject({ statusCode: 404, error: 'not_found' });
      expect(googleCalls(OTHER)).toBe(theirs);
    });
  });

  describe('MCP tool arguments of the wrong shape', () => {
    it.each([
      ['arguments as an array', 'get_gmail_message_content', []],
      ['arguments as a string', 'get_gmail_message_content', 'm1'],
    ])('%s (params that are not a tools/call request): JSON-RPC invalid params, and no Google call', async (_what, tool, args) => {
      const before = googleCalls();
      const res = await mcp(tool, args);
      expect(res.status).toBe(200);
      expect(res.json.error).toMatchObject({ code: -32602, message: expect.any(String) });
      expect(res.json.error.message).not.toMatch(/ at .*\.(ts|js):\d+/);
      expect(googleCalls()).toBe(before);
    });

    it.each([
      ['an id with "/" and ".."', 'get_gmail_message_content', { messageId: '../../users/x/messages/y' }, 'messageId'],
      ['an id as an array', 'get_drive_file_metadata', { fileId: ['a', 'b'] }, 'fileId'],
      ['an id as an object', 'get_doc_content', { documentId: { toString: 'x' } }, 'documentId'],
      ['a negative page size', 'search_drive_files', { pageSize: -1 }, 'pageSize'],
      ['a huge number', 'list_tasks', { listId: '@default', maxResults: 1e308 }, 'maxResults'],
      ['batch ids as an array', 'get_gmail_messages_content_batch', { ids: ['a', 'b'] }, 'ids'],
      ['a Sheets range of ".."', 'read_sheet_values', { spreadsheetId: 'abc', range: '..' }, 'range'],
      ['a calendar id with "/"', 'get_events', { calendarId: 'a/b' }, 'calendarId'],
      ['an export format Drive has not', 'get_drive_file_content', { fileId: 'abc', format: 'exe' }, 'format'],
      ['content that is not base64', 'create_drive_file', { name: 'a', content: 'not base64!' }, 'content'],
      ['a contact resource name', 'get_contact', { contactId: 'people/c1' }, 'contactId'],
      ['a 100000-character subject', 'send_gmail_message', { to: ['a@example.com'], subject: 's'.repeat(100_000), text: 't' }, 'subject'],
    ])('%s: a tool error (isError, 400) naming the field for the model to correct, and no Google call', async (_what, tool, args, field) => {
      const before = googleCalls();
      const res = await mcp(tool, args);
      expect(res.status).toBe(200);
      const body = toolError(res);
      expect(body).toMatchObject({ statusCode: 400, error: 'invalid_request', message: expect.stringContaining(`"${field}"`) });
      expect(body.message).not.toMatch(/ at .*\.(ts|js):\d+/);
      expect(googleCalls()).toBe(before);
    });
  });
});
