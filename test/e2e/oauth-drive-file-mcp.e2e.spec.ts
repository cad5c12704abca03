import { createHash } from 'node:crypto';
import { apiClient } from '../support/api-client.js';
import { useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import { Service, signIn, startService, startWorld, stopAll, World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';
import { challengeParams, OAuthTestClient, WatchedBrowser } from '../support/oauth-tokens.js';

const G = 'https://www.googleapis.com/auth/';
const DRIVE_FILE = `${G}drive.file`;
const EMAIL = 'mcp-app-files@example.com';

/** A tools/call through /mcp: the HTTP status, the challenge, and the tool's result or the HTTP error body. */
async function tool(url: string, token: string, name: string, args: Record<string, unknown>) {
  const res = await rawMcp(`${url}/mcp`, token, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });
  const result = res.json?.result as { isError?: boolean; structuredContent?: Record<string, any>; content?: Array<{ text: string }> } | undefined;
  const error = result?.isError ? (JSON.parse(result.content?.[0]?.text ?? '{}') as Record<string, unknown>) : undefined;
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: res.json as Record<string, unknown>, data: result?.structuredContent, error };
}

const ids = (data: Record<string, any> | undefined) => (data?.files as Array<{ id: string }>).map((f) => f.id).sort();

describe('drive.file per OAuth client, through MCP tools: the same files as the REST routes, refused the same way', () => {
  let world: World;
  let sut: Service;
  let tokenA: string;
  let tokenB: string;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world, { JWT_ISSUER: undefined });
    const a = await OAuthTestClient.register(sut, world);
    const b = await OAuthTestClient.register(sut, world);
    tokenA = (await a.tokens(EMAIL, { scope: DRIVE_FILE }, new WatchedBrowser(world.google.urls.auth))).access_token;
    tokenB = (await b.tokens(EMAIL, { scope: DRIVE_FILE }, new WatchedBrowser(world.google.urls.auth))).access_token;
  });
  afterAll(() => stopAll(world, sut));

  it('lists the Drive, Docs and Sheets tools as granted to a drive.file token, each saying it reaches only its own files', async () => {
    const listed = await rawMcp(`${sut.url}/mcp`, tokenA, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const tools = Object.fromEntries((listed.json.result.tools as Array<{ name: string; description: string; _meta: Record<string, unknown> }>).map((t) => [t.name, t]));
    for (const name of ['search_drive_files', 'get_drive_file_content', 'create_drive_file', 'get_doc_content', 'find_and_replace_doc', 'read_sheet_values', 'create_spreadsheet']) {
      expect({ name, granted: tools[name]._meta['workspace/scopeGranted'], note: tools[name].description.endsWith('(With this token it reaches only the Drive files this application created.)') }).toEqual({ name, granted: true, note: true });
    }
    expect(tools.search_gmail_messages._meta['workspace/scopeGranted']).toBe(false);
  });

  it('a client creates, reads back, changes and finds its own files by tool; another client of the user gets 403 with the step-up challenge at /mcp', async () => {
    const doc = await tool(sut.url, tokenA, 'create_doc', { title: 'Agent notes', text: 'step one' });
    const documentId = doc.data?.documentId as string;
    const file = await tool(sut.url, tokenA, 'create_drive_file', { name: 'agent.txt', mimeType: 'text/plain', content: Buffer.from('agent output').toString('base64') });
    const fileId = file.data?.id as string;
    expect([doc.status, file.status, typeof documentId, typeof fileId]).toEqual([200, 200, 'string', 'string']);
    expect((await tool(sut.url, tokenA, 'get_doc_content', { documentId })).data?.text).toContain('step one');
    expect((await tool(sut.url, tokenA, 'find_and_replace_doc', { documentId, find: 'one', replace: 'two' })).data?.occurrencesChanged).toBe(1);
    expect((await tool(sut.url, tokenA, 'get_drive_file_content', { fileId })).data).toMatchObject({ encoding: 'utf-8', content: 'agent output' });
    expect(ids((await tool(sut.url, tokenA, 'search_drive_files', {})).data)).toEqual([documentId, fileId].sort());
    expect(ids((await tool(sut.url, tokenA, 'search_drive_files', { q: "name = 'agent.txt'" })).data)).toEqual([fileId]);

    const before = world.google.apiCalls.length;
    for (const [name, args, scope] of [
      ['get_doc_content', { documentId }, 'documents.readonly'],
      ['find_and_replace_doc', { documentId, find: 'two', replace: 'three' }, 'documents'],
      ['get_drive_file_content', { fileId }, 'drive.readonly'],
      ['get_drive_file_metadata', { fileId }, 'drive.readonly'],
    ] as const) {
      const refused = await tool(sut.url, tokenB, name, args);
      expect([name, refused.status, refused.body?.error, refused.body?.scope]).toEqual([name, 403, 'insufficient_scope', `${G}${scope}`]);
      expect(refused.challenge).toBe(`Bearer error="insufficient_scope", scope="${G}${scope}", resource_metadata="${sut.url}/.well-known/oauth-protected-resource/mcp"`);
    }
    // Google was asked for the marks only; the Doc's text is as the first client left it.
    for (const c of world.google.apiCalls.slice(before)) expect([c.method, c.query]).toEqual(['GET', 'fields=appProperties&supportsAllDrives=true']);
    expect(world.google.driveFile(EMAIL, documentId)?.paragraphs?.join('')).toContain('step two');
    expect(ids((await tool(sut.url, tokenB, 'search_drive_files', {})).data)).toEqual([]);
  });

  it("the user's other files are 403 by tool too, an id that does not exist answers the same, and a query that escapes its parentheses is the tool's 400", async () => {
    const [doc] = world.google.documentIds(EMAIL);
    const existing = await tool(sut.url, tokenA, 'get_doc_content', { documentId: doc });
    const missing = await tool(sut.url, tokenA, 'get_doc_content', { documentId: 'nosuchdoc123' });
    expect([existing.status, existing.body?.error, challengeParams(existing.challenge).scope]).toEqual([403, 'insufficient_scope', `${G}documents.readonly`]);
    expect([missing.status, missing.body?.error, missing.challenge]).toEqual([403, 'insufficient_scope', existing.challenge]);
    const before = world.google.apiCalls.length;
    for (const q of ["x') or (true", 'true) or (true']) {
      const escaped = await tool(sut.url, tokenA, 'search_drive_files', { q });
      expect([q, escaped.status, escaped.error?.statusCode, escaped.error?.error]).toEqual([q, 200, 400, 'invalid_request']);
      expect(escaped.error?.message).toMatch(/^q must close every string literal and pair its parentheses/);
    }
    expect(world.google.apiCalls.length).toBe(before);
  });

  it('a tool of a client whose token holds a broader scope marks what it creates too, so the client approved again with drive.file alone reaches it', async () => {
    const c = await OAuthTestClient.register(sut, world);
    const wide = (await c.tokens(EMAIL, { scope: `${G}documents ${G}spreadsheets` }, new WatchedBrowser(world.google.urls.auth))).access_token;
    const documentId = (await tool(sut.url, wide, 'create_doc', { title: 'made with documents', text: 'kept' })).data?.documentId as string;
    const spreadsheetId = (await tool(sut.url, wide, 'create_spreadsheet', { title: 'made with spreadsheets' })).data?.spreadsheetId as string;
    const mark = createHash('sha256').update(`${c.clientId}\n${EMAIL}`).digest('base64url');
    for (const id of [documentId, spreadsheetId]) expect({ id, appProperties: world.google.driveFile(EMAIL, id)?.appProperties }).toEqual({ id, appProperties: { wsbCreatedBy: mark } });
    const narrow = (await c.tokens(EMAIL, { scope: DRIVE_FILE }, new WatchedBrowser(world.google.urls.auth))).access_token;
    expect((await tool(sut.url, narrow, 'get_doc_content', { documentId })).data?.text).toContain('kept');
    expect(ids((await tool(sut.url, narrow, 'search_drive_files', {})).data)).toEqual([documentId, spreadsheetId].sort());
  });

  it("a browser sign-in's token reaches every file by tool, as before", async () => {
    const user = await signIn(sut, world, EMAIL);
    const [doc] = world.google.documentIds(EMAIL);
    const read = await tool(sut.url, user.access_token, 'get_doc_content', { documentId: doc });
    expect([read.status, read.error]).toEqual([200, undefined]);
    expect(read.data?.text).toContain(`Notes of ${EMAIL}`);
    expect(ids((await tool(sut.url, user.access_token, 'search_drive_files', {})).data)).toEqual(expect.arrayContaining(world.google.itemIds('drive', EMAIL)));
  });
});

describe("drive.file per OAuth client: a Doc or Sheet whose mark Google does not take", () => {
  const app = useAppBehindGoogleProxy();
  const email = 'unmarked@example.com';
  const unavailable = JSON.stringify({ error: { code: 503, status: 'UNAVAILABLE', message: 'backend', errors: [{ reason: 'backendError' }] } });
  const marks = () => app.proxy.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/drive/v3/files/'));
  let token: string;
  let mark: string;

  beforeAll(async () => {
    const client = await OAuthTestClient.register(app.sut, app.world);
    token = (await client.tokens(email, { scope: DRIVE_FILE }, new WatchedBrowser(app.world.google.urls.auth))).access_token;
    mark = createHash('sha256').update(`${client.clientId}\n${email}`).digest('base64url');
  });

  it('tries the mark again after Google failed it, and the client reaches its Doc', async () => {
    app.proxy.inject({ method: 'PATCH', path: '/drive/v3/files/', fault: 'answer', status: 503, body: unavailable, contentType: 'application/json', times: 3 });
    const before = marks().length;
    const created = await apiClient(app.sut, token)('POST', '/v1/users/me/docs/documents', { title: 'made on a bad day', text: 'hello' });
    expect(created.status).toBe(201);
    // GoogleCaller's three attempts failed; the fourth, the mark's own retry, went through.
    expect(marks().slice(before).map((r) => r.status)).toEqual([503, 503, 503, 200]);
    const id = created.json.documentId as string;
    expect(app.world.google.driveFile(email, id)?.appProperties).toEqual({ wsbCreatedBy: mark });
    expect((await apiClient(app.sut, token)('GET', `/v1/users/me/docs/documents/${id}/text`)).status).toBe(200);
  });

  it('answers an error naming the file when the mark still fails: the file exists, and the client is told it cannot reach it', async () => {
    for (const [path, body, kind, idField] of [
      ['/v1/users/me/docs/documents', { title: 'never marked' }, 'document', 'documentId'],
      ['/v1/users/me/sheets/spreadsheets', { title: 'never marked' }, 'spreadsheet', 'spreadsheetId'],
    ] as const) {
      app.proxy.inject({ method: 'PATCH', path: '/drive/v3/files/', fault: 'answer', status: 503, body: unavailable, contentType: 'application/json', times: Infinity });
      const res = await apiClient(app.sut, token)('POST', path, body);
      app.proxy.clear();
      expect([kind, res.status, res.json.error]).toEqual([kind, 502, 'file_not_marked']);
      const fileId = res.json.fileId as string;
      expect(res.json.message).toContain(`The ${kind} ${fileId} was created`);
      expect(res.json.message).toContain('this token cannot read or change it');
      expect(res.json.url).toContain(fileId);
      // It is in the user's Drive, unmarked, and out of the client's reach.
      expect(app.world.google.driveFile(email, fileId)).toMatchObject({ name: 'never marked' });
      expect(app.world.google.driveFile(email, fileId)?.appProperties).toBeUndefined();
      const read = await apiClient(app.sut, token)('GET', kind === 'document' ? `/v1/users/me/docs/documents/${fileId}/text` : `/v1/users/me/sheets/spreadsheets/${fileId}/values?range=A1`);
      expect([idField, read.status, read.json.error]).toEqual([idField, 403, 'insufficient_scope']);
    }
  });

  it("when Google cannot answer the check of a file's mark, REST answers Google's 502 and the tool its 502 tool error: nothing runs unchecked", async () => {
    const created = await apiClient(app.sut, token)('POST', '/v1/users/me/docs/documents', { title: 'checked later', text: 'secret' });
    expect(created.status).toBe(201);
    const documentId = created.json.documentId as string;
    app.proxy.inject({ method: 'GET', path: '/drive/v3/files/', query: /fields=appProperties/, fault: 'answer', status: 503, body: unavailable, contentType: 'application/json', times: Infinity });
    const before = app.proxy.requests.length;
    const rest = await apiClient(app.sut, token)('GET', `/v1/users/me/docs/documents/${documentId}/text`);
    expect([rest.status, rest.json.error]).toEqual([502, 'google_unavailable']);
    const viaTool = await tool(app.sut.url, token, 'get_doc_content', { documentId });
    expect([viaTool.status, viaTool.error?.statusCode, viaTool.error?.error]).toEqual([200, 502, 'google_unavailable']);
    expect(app.proxy.requests.slice(before).filter((r) => r.path.startsWith('/v1/documents/'))).toEqual([]); // the Doc itself was never read
  });

  it("a client whose token reaches the file without the mark (documents, spreadsheets, drive) gets its Doc or Sheet when the mark fails; the log names the file, not a secret", async () => {
    const client = await OAuthTestClient.register(app.sut, app.world);
    const before = app.sut.logs.events('created file left unmarked').length;
    const cases = [
      [`${G}documents`, '/v1/users/me/docs/documents', 'documentId'],
      [`${G}spreadsheets`, '/v1/users/me/sheets/spreadsheets', 'spreadsheetId'],
      [`${G}drive ${DRIVE_FILE}`, '/v1/users/me/docs/documents', 'documentId'],
    ] as const;
    const tokens: string[] = [];
    for (const [scope, path, idField] of cases) {
      const answer = await client.tokens(email, { scope }, new WatchedBrowser(app.world.google.urls.auth));
      tokens.push(answer.access_token, answer.refresh_token ?? '');
      app.proxy.inject({ method: 'PATCH', path: '/drive/v3/files/', fault: 'answer', status: 503, body: unavailable, contentType: 'application/json', times: Infinity });
      const res = await apiClient(app.sut, answer.access_token)('POST', path, { title: 'mark failed' });
      app.proxy.clear();
      expect([scope, res.status]).toEqual([scope, 201]);
      const fileId = res.json[idField] as string;
      expect(app.world.google.driveFile(email, fileId)?.appProperties).toBeUndefined();
      expect(app.sut.logs.events('created file left unmarked').at(-1)).toMatchObject({ fileId, error: 'google_unavailable', answered: 'created' });
    }
    expect(app.sut.logs.events('created file left unmarked').length - before).toBe(cases.length);
    for (const secret of tokens.filter(Boolean)) expect(app.sut.logs.text).not.toContain(secret);
  });

  // drive.file beside broader scopes is what an MCP client asking for the tools' scopes holds (drive.file is the
  // narrowest that creates a Drive file). Its drive.file is needed only to create: every read and change of a Doc or
  // Sheet it made goes through drive.readonly and documents or spreadsheets, so a failed mark must not fail the create.
  it('a client whose drive.file only creates, its Docs or Sheets reached through drive.readonly and documents or spreadsheets, gets its file when the mark fails, and reads it', async () => {
    const client = await OAuthTestClient.register(app.sut, app.world);
    const cases = [
      [`${G}drive.readonly ${DRIVE_FILE} ${G}documents ${G}spreadsheets`, 'document'],
      [`${G}drive.readonly ${DRIVE_FILE} ${G}documents`, 'document'],
      [`${G}drive.readonly ${DRIVE_FILE} ${G}spreadsheets`, 'spreadsheet'],
    ] as const;
    for (const [scope, kind] of cases) {
      const call = apiClient(app.sut, (await client.tokens(email, { scope }, new WatchedBrowser(app.world.google.urls.auth))).access_token);
      app.proxy.inject({ method: 'PATCH', path: '/drive/v3/files/', fault: 'answer', status: 503, body: unavailable, contentType: 'application/json', times: Infinity });
      const res = await call('POST', kind === 'document' ? '/v1/users/me/docs/documents' : '/v1/users/me/sheets/spreadsheets', { title: 'mark failed, reached anyway' });
      app.proxy.clear();
      expect({ scope, status: res.status, error: res.json.error }).toEqual({ scope, status: 201, error: undefined });
      const fileId = (kind === 'document' ? res.json.documentId : res.json.spreadsheetId) as string;
      expect(app.world.google.driveFile(email, fileId)?.appProperties).toBeUndefined();
      expect(app.sut.logs.events('created file left unmarked').at(-1)).toMatchObject({ fileId, answered: 'created' });
      // The same token reaches it, with no mark: through the Docs or Sheets API, and through Drive.
      const read = await call('GET', kind === 'document' ? `/v1/users/me/docs/documents/${fileId}/text` : `/v1/users/me/sheets/spreadsheets/${fileId}/values?range=A1`);
      expect({ scope, read: read.status }).toEqual({ scope, read: 200 });
      expect({ scope, metadata: (await call('GET', `/v1/users/me/drive/files/${fileId}`)).status }).toEqual({ scope, metadata: 200 });
    }
  });

  it('does not try again a mark Google refused (a 4xx would be refused again)', async () => {
    const forbidden = JSON.stringify({ error: { code: 403, status: 'PERMISSION_DENIED', message: 'no', errors: [{ reason: 'forbidden' }] } });
    app.proxy.inject({ method: 'PATCH', path: '/drive/v3/files/', fault: 'answer', status: 403, body: forbidden, contentType: 'application/json', times: Infinity });
    const before = marks().length;
    const res = await apiClient(app.sut, token)('POST', '/v1/users/me/docs/documents', { title: 'refused mark' });
    expect([res.status, res.json.error, marks().length - before]).toEqual([502, 'file_not_marked', 1]);
  });
});
