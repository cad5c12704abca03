import { createHash } from 'node:crypto';
import { apiClient } from '../support/api-client.js';
import { Service, signIn, startService, startWorld, stopAll, World } from '../support/harness.js';
import { challengeParams, OAuthTestClient, WatchedBrowser } from '../support/oauth-tokens.js';

const G = 'https://www.googleapis.com/auth/';
const DRIVE_FILE = `${G}drive.file`;
const EMAIL = 'app-files@example.com';
const FILES = '/v1/users/me/drive/files';
const DOCS = '/v1/users/me/docs/documents';
const SHEETS = '/v1/users/me/sheets/spreadsheets';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const idsOf = (json: Record<string, unknown>) => (json.files as Array<{ id: string }>).map((f) => f.id).sort();

/**
 * drive.file per OAuth client, through the REST routes: what a client's drive.file token creates is marked as that
 * client's (Drive appProperties), and such a token reaches those files and no others. GOOGLE_SCOPES stays at its
 * default, so every call goes to Google with the user's drive.readonly grant, as in production.
 */
describe('drive.file per OAuth client: a client reads and changes the files it created, and nothing else of the user', () => {
  let world: World;
  let sut: Service;
  let a: OAuthTestClient;
  let b: OAuthTestClient;
  let tokenA: string;
  let tokenB: string;
  /** What client A created in beforeAll: an upload, a folder, a file inside it, a Doc and a Sheet. */
  const made: Record<'file' | 'folder' | 'inside' | 'doc' | 'sheet', string> = { file: '', folder: '', inside: '', doc: '', sheet: '' };

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world, { JWT_ISSUER: undefined });
    a = await OAuthTestClient.register(sut, world);
    b = await OAuthTestClient.register(sut, world);
    tokenA = (await a.tokens(EMAIL, { scope: DRIVE_FILE }, new WatchedBrowser(world.google.urls.auth))).access_token;
    tokenB = (await b.tokens(EMAIL, { scope: DRIVE_FILE }, new WatchedBrowser(world.google.urls.auth))).access_token;
    const call = apiClient(sut, tokenA);
    const created = async (path: string, body: unknown, id: string) => {
      const res = await call('POST', path, body);
      if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.json)}`);
      return res.json[id] as string;
    };
    made.file = await created(FILES, { name: 'report.txt', mimeType: 'text/plain', content: b64('written by A') }, 'id');
    made.folder = await created('/v1/users/me/drive/folders', { name: 'A reports' }, 'id');
    made.inside = await created(FILES, { name: 'inside.txt', mimeType: 'text/plain', parentId: made.folder, content: b64('in the folder') }, 'id');
    made.doc = await created(DOCS, { title: 'A report', text: 'first draft' }, 'documentId');
    made.sheet = await created(SHEETS, { title: 'A numbers' }, 'spreadsheetId');
  });
  afterAll(() => stopAll(world, sut));

  const markOf = (client: OAuthTestClient) => createHash('sha256').update(`${client.clientId}\n${EMAIL}`).digest('base64url');
  const callsSince = (before: number) => world.google.apiCalls.slice(before).filter((c) => c.email === EMAIL);
  /** The status of a GET whose answer may not be JSON (a download). */
  const statusOf = async (token: string, path: string) => (await fetch(`${sut.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status;

  it("marks what the client creates with its client_id's digest in Drive's private appProperties", () => {
    for (const id of Object.values(made)) expect({ id, appProperties: world.google.driveFile(EMAIL, id)?.appProperties }).toEqual({ id, appProperties: { wsbCreatedBy: markOf(a) } });
  });

  it('reads back metadata and content, exports and edits its Doc, writes and reads its Sheet, and lists exactly its own files', async () => {
    const call = apiClient(sut, tokenA);
    expect((await call('GET', `${FILES}/${made.file}`)).json).toMatchObject({ id: made.file, name: 'report.txt' });
    const content = await fetch(`${sut.url}${FILES}/${made.file}/content`, { headers: { authorization: `Bearer ${tokenA}` } });
    expect([content.status, await content.text()]).toEqual([200, 'written by A']);
    const exported = await fetch(`${sut.url}${FILES}/${made.doc}/content?format=text`, { headers: { authorization: `Bearer ${tokenA}` } });
    expect([exported.status, (await exported.text()).trim()]).toEqual([200, 'first draft']);
    const replaced = await call('POST', `${DOCS}/${made.doc}/replace`, { find: 'first draft', replace: 'final version' });
    expect([replaced.status, replaced.json.occurrencesChanged]).toEqual([200, 1]);
    expect(String((await call('GET', `${DOCS}/${made.doc}/text`)).json.text).trim()).toBe('final version');
    expect((await call('PUT', `${SHEETS}/${made.sheet}/values`, { range: 'Sheet1!A1', values: [['month', 'total']] })).status).toBe(200);
    expect((await call('POST', `${SHEETS}/${made.sheet}/values/append`, { range: 'Sheet1!A1', values: [['May', 42]] })).status).toBe(200);
    expect((await call('GET', `${SHEETS}/${made.sheet}/values?range=Sheet1!A1:B3`)).json.values).toEqual([['month', 'total'], ['May', '42']]);
    expect((await call('GET', `${FILES}/${made.file}/link`)).status).toBe(200);
    expect((await call('GET', `${FILES}/${made.file}/permissions`)).status).toBe(200);

    const before = world.google.apiCalls.length;
    const all = await call('GET', FILES);
    expect([all.status, idsOf(all.json)]).toEqual([200, Object.values(made).sort()]);
    const docs = await call('GET', `${FILES}?${new URLSearchParams({ q: "mimeType = 'application/vnd.google-apps.document'" })}`);
    expect(idsOf(docs.json)).toEqual([made.doc]); // the user's own Docs (seeded) are not among them
    const inFolder = await call('GET', `${FILES}?${new URLSearchParams({ q: `'${made.folder}' in parents` })}`);
    expect(idsOf(inFolder.json)).toEqual([made.inside]);
    // The client's query went to Google in parentheses of its own, with the mark ANDed to it.
    const sent = callsSince(before).map((c) => new URLSearchParams(c.query).get('q'));
    expect(sent).toEqual([
      `appProperties has { key='wsbCreatedBy' and value='${markOf(a)}' }`,
      `(mimeType = 'application/vnd.google-apps.document') and appProperties has { key='wsbCreatedBy' and value='${markOf(a)}' }`,
      `('${made.folder}' in parents) and appProperties has { key='wsbCreatedBy' and value='${markOf(a)}' }`,
    ]);
  });

  it("another client of the same user, also drive.file, gets 403 with the step-up challenge on the first client's files and does not list them", async () => {
    const call = apiClient(sut, tokenB);
    const textBefore = world.google.driveFile(EMAIL, made.doc)?.paragraphs;
    for (const [method, path, body, scope, api] of [
      ['GET', `${FILES}/${made.file}`, undefined, 'drive.readonly', 'drive'],
      ['GET', `${FILES}/${made.file}/content`, undefined, 'drive.readonly', 'drive'],
      ['GET', `${FILES}/${made.file}/link`, undefined, 'drive.readonly', 'drive'],
      ['GET', `${DOCS}/${made.doc}/text`, undefined, 'documents.readonly', 'docs'],
      ['POST', `${DOCS}/${made.doc}/replace`, { find: 'final', replace: 'stolen' }, 'documents', 'docs'],
      ['PUT', `${SHEETS}/${made.sheet}/values`, { range: 'Sheet1!A1', values: [['x']] }, 'spreadsheets', 'sheets'],
      ['GET', `${SHEETS}/${made.sheet}/values?range=Sheet1!A1:B2`, undefined, 'spreadsheets.readonly', 'sheets'],
      // Creating inside another client's folder is changing that folder.
      ['POST', FILES, { name: 'planted.txt', parentId: made.folder, content: b64('x') }, 'drive', 'drive'],
      ['POST', '/v1/users/me/drive/folders', { name: 'planted', parentId: made.folder }, 'drive', 'drive'],
    ] as const) {
      const res = await call(method, path, body);
      expect([method, path, res.status, res.json.error, res.json.scope]).toEqual([method, path, 403, 'insufficient_scope', `${G}${scope}`]);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer error="insufficient_scope", scope="${G}${scope}", resource_metadata="${sut.url}/.well-known/oauth-protected-resource/v1/users/me/${api}"`);
      expect(res.json.message).toContain('/oauth/authorize');
    }
    expect(world.google.driveFile(EMAIL, made.doc)?.paragraphs).toEqual(textBefore);
    expect(idsOf((await call('GET', `${FILES}?${new URLSearchParams({ q: `'${made.folder}' in parents` })}`)).json)).toEqual([]);
    expect(idsOf((await call('GET', FILES)).json)).toEqual([]);
    const own = await call('POST', '/v1/users/me/drive/folders', { name: 'B folder' });
    expect(own.status).toBe(201);
    expect(idsOf((await call('GET', FILES)).json)).toEqual([own.json.id]);
    expect(idsOf((await apiClient(sut, tokenA)('GET', FILES)).json)).not.toContain(own.json.id);
  });

  it("draws the line per file: on one route its own file is 200, a file the user already had 403, and an id that does not exist the very same 403", async () => {
    const call = apiClient(sut, tokenA);
    const [, pdf] = world.google.itemIds('drive', EMAIL);
    const [doc] = world.google.documentIds(EMAIL);
    const sheet = world.google.spreadsheetId(EMAIL);
    const answer = async (path: string) => {
      const res = await fetch(`${sut.url}${path}`, { headers: { authorization: `Bearer ${tokenA}` } });
      const json = res.status === 200 ? {} : ((await res.json()) as Record<string, string>);
      return { status: res.status, error: json.error, scope: json.scope, challenge: res.headers.get('www-authenticate'), message: json.message?.replace(/\S+ is not one of them/, 'ID is not one of them') };
    };
    for (const [route, own, users] of [
      [(id: string) => `${FILES}/${id}`, made.file, pdf],
      [(id: string) => `${FILES}/${id}/content`, made.file, pdf],
      [(id: string) => `${DOCS}/${id}/text`, made.doc, doc],
      [(id: string) => `${SHEETS}/${id}/values?range=A1:B2`, made.sheet, sheet],
    ] as const) {
      expect([route(own), (await answer(route(own))).status]).toEqual([route(own), 200]);
      const before = world.google.apiCalls.length;
      const existing = await answer(route(users));
      expect({ path: route(users), status: existing.status, error: existing.error }).toEqual({ path: route(users), status: 403, error: 'insufficient_scope' });
      expect(challengeParams(existing.challenge).scope).toBe(existing.scope);
      expect(await answer(route('nosuchfile123'))).toEqual(existing);
      // Nothing of the user's reached the client: Google was asked for the two files' appProperties, and nothing more.
      const asked = callsSince(before).map((c) => [c.method, c.path, c.query]);
      expect(asked).toEqual([users, 'nosuchfile123'].map((id) => ['GET', `/drive/v3/files/${id}`, 'fields=appProperties&supportsAllDrives=true']));
    }
  });

  it("refuses with 400, before Google, a search whose query could climb out of the client's own files", async () => {
    const before = world.google.apiCalls.length;
    for (const q of ["x') or (true", "name contains 'x') or (true", 'true) or (true', "name = 'unterminated"]) {
      const res = await apiClient(sut, tokenA)('GET', `${FILES}?${new URLSearchParams({ q })}`);
      expect([q, res.status, res.json.error]).toEqual([q, 400, 'invalid_request']);
      expect(res.json.message).toMatch(/^q must close every string literal and pair its parentheses/);
    }
    expect(world.google.apiCalls.length).toBe(before);
  });

  it('finds its files with double-quoted literals, an apostrophe or a parenthesis inside them included, and only its own', async () => {
    const call = apiClient(sut, tokenA);
    const odd: Record<string, string> = {};
    for (const name of ["a'b", "x') or (true"]) {
      const res = await call('POST', FILES, { name, mimeType: 'text/plain', content: b64(name) });
      expect(res.status).toBe(201);
      odd[name] = res.json.id as string;
    }
    // A file of the user's own, not the client's, with the same name: never listed.
    const person = await signIn(sut, world, EMAIL);
    expect((await apiClient(sut, person.access_token)('POST', FILES, { name: "a'b", mimeType: 'text/plain', content: b64('the person') })).status).toBe(201);
    const mark = `appProperties has { key='wsbCreatedBy' and value='${markOf(a)}' }`;
    for (const [q, sent, found] of [
      [`name = "a'b"`, `(name = 'a\\'b') and ${mark}`, [odd["a'b"]]],
      [`name = "x') or (true"`, `(name = 'x\\') or (true') and ${mark}`, [odd["x') or (true"]]],
      [`name contains "'" and mimeType = 'text/plain'`, `(name contains '\\'' and mimeType = 'text/plain') and ${mark}`, Object.values(odd).sort()],
    ]) {
      const before = world.google.apiCalls.length;
      const res = await call('GET', `${FILES}?${new URLSearchParams({ q: q as string })}`);
      expect({ q, status: res.status, ids: res.status === 200 ? idsOf(res.json) : res.json }).toEqual({ q, status: 200, ids: found });
      expect(new URLSearchParams(callsSince(before)[0].query).get('q')).toBe(sent);
    }
  });

  it("a token with a broader Drive scope beside drive.file reaches every file and searches unwrapped, and still marks what it creates", async () => {
    const wide = (await a.tokens(EMAIL, { scope: `${G}drive.readonly ${DRIVE_FILE}` }, new WatchedBrowser(world.google.urls.auth))).access_token;
    const call = apiClient(sut, wide);
    const [, pdf] = world.google.itemIds('drive', EMAIL);
    expect(await statusOf(wide, `${FILES}/${pdf}/content`)).toBe(200);
    const before = world.google.apiCalls.length;
    const listed = await call('GET', `${FILES}?${new URLSearchParams({ q: "name contains 'file'" })}`);
    expect(idsOf(listed.json)).toEqual(expect.arrayContaining([pdf]));
    expect(new URLSearchParams(callsSince(before)[0].query).get('q')).toBe("name contains 'file'");
    const doc = await call('POST', DOCS, { title: 'wide' });
    expect(world.google.driveFile(EMAIL, doc.json.documentId as string)?.appProperties).toEqual({ wsbCreatedBy: markOf(a) });
    expect((await apiClient(sut, tokenA)('GET', `${DOCS}/${doc.json.documentId as string}/text`)).status).toBe(200);
  });

  it("marks what a client creates with a broader scope (drive, documents, spreadsheets), so approved again with drive.file alone it still reaches and lists those files, as Google's drive.file does", async () => {
    const c = await OAuthTestClient.register(sut, world);
    const made: string[] = [];
    const create = async (token: string, path: string, body: unknown, id: string) => {
      const before = world.google.apiCalls.length;
      const res = await apiClient(sut, token)('POST', path, body);
      expect([path, res.status]).toEqual([path, 201]);
      made.push(res.json[id] as string);
      return callsSince(before);
    };
    const drive = (await c.tokens(EMAIL, { scope: `${G}drive` }, new WatchedBrowser(world.google.urls.auth))).access_token;
    await create(drive, FILES, { name: 'by drive.txt', mimeType: 'text/plain', content: b64('made with drive') }, 'id');
    await create(drive, '/v1/users/me/drive/folders', { name: 'by drive' }, 'id');
    await create(drive, DOCS, { title: 'by drive', text: 'drive text' }, 'documentId');
    const docs = (await c.tokens(EMAIL, { scope: `${G}documents` }, new WatchedBrowser(world.google.urls.auth))).access_token;
    await create(docs, DOCS, { title: 'by documents', text: 'documents text' }, 'documentId');
    const sheets = (await c.tokens(EMAIL, { scope: `${G}spreadsheets` }, new WatchedBrowser(world.google.urls.auth))).access_token;
    await create(sheets, SHEETS, { title: 'by spreadsheets' }, 'spreadsheetId');
    for (const id of made) expect({ id, appProperties: world.google.driveFile(EMAIL, id)?.appProperties }).toEqual({ id, appProperties: { wsbCreatedBy: markOf(c) } });

    // A broad token's reads are not held to marks, and ask Google for nothing more than before.
    const before = world.google.apiCalls.length;
    expect(await statusOf(drive, `${FILES}/${made[0]}/content`)).toBe(200);
    expect(callsSince(before).map((asked) => asked.path)).toEqual([`/drive/v3/files/${made[0]}`, `/drive/v3/files/${made[0]}`]);

    const narrow = (await c.tokens(EMAIL, { scope: DRIVE_FILE }, new WatchedBrowser(world.google.urls.auth))).access_token;
    const call = apiClient(sut, narrow);
    const listed = await call('GET', FILES);
    expect([listed.status, idsOf(listed.json)]).toEqual([200, [...made].sort()]);
    const content = await fetch(`${sut.url}${FILES}/${made[0]}/content`, { headers: { authorization: `Bearer ${narrow}` } });
    expect([content.status, await content.text()]).toEqual([200, 'made with drive']);
    expect(String((await call('GET', `${DOCS}/${made[3]}/text`)).json.text).trim()).toBe('documents text');
    expect((await call('PUT', `${SHEETS}/${made[4]}/values`, { range: 'Sheet1!A1', values: [['still mine']] })).status).toBe(200);
    expect((await call('POST', FILES, { name: 'inside.txt', parentId: made[1], content: b64('x') })).status).toBe(201);
  });

  it("a browser sign-in's token is as before: every file, its query untouched, and nothing it creates is marked", async () => {
    const user = await signIn(sut, world, EMAIL);
    const call = apiClient(sut, user.access_token);
    const [, pdf] = world.google.itemIds('drive', EMAIL);
    for (const path of [`${FILES}/${pdf}/content`, `${FILES}/${made.file}/content`, `${DOCS}/${made.doc}/text`]) expect([path, await statusOf(user.access_token, path)]).toEqual([path, 200]);
    const before = world.google.apiCalls.length;
    const all = await call('GET', FILES);
    expect(idsOf(all.json)).toEqual(expect.arrayContaining([pdf, made.file, made.doc]));
    // An unbalanced query goes to Google as it is, and Google's 400 comes back.
    const odd = await call('GET', `${FILES}?${new URLSearchParams({ q: 'true) or (true' })}`);
    expect([odd.status, odd.json.error]).toEqual([400, 'bad_request']);
    expect(callsSince(before).map((c) => new URLSearchParams(c.query).get('q'))).toEqual([null, 'true) or (true']);
    const folder = await call('POST', '/v1/users/me/drive/folders', { name: 'by the person' });
    expect(folder.status).toBe(201);
    expect(world.google.driveFile(EMAIL, folder.json.id as string)?.appProperties).toBeUndefined();
  });

  it('takes no appProperties from any caller: the mark cannot be set, changed or removed through a route', async () => {
    for (const token of [tokenA, tokenB]) {
      const call = apiClient(sut, token);
      const forged = await call('POST', FILES, { name: 'forged.txt', content: b64('x'), appProperties: { wsbCreatedBy: markOf(a) } });
      expect([forged.status, forged.json.message]).toEqual([400, expect.stringContaining('appProperties')]);
      expect((await call('POST', '/v1/users/me/drive/folders', { name: 'forged', appProperties: { wsbCreatedBy: markOf(b) } })).status).toBe(400);
    }
    expect(world.google.driveFile(EMAIL, made.file)?.appProperties).toEqual({ wsbCreatedBy: markOf(a) });
  });
});
