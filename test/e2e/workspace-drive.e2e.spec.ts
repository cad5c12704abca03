import { apiClient, startSignedIn } from '../support/api-client.js';
import { Service, signIn, startService, stopAll, World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';

const USER = 'drive-user@example.com';
const FILES = '/v1/users/me/drive/files';

describe('Workspace: Drive', () => {
  let world: World;
  let sut: Service;
  let call: ReturnType<typeof apiClient>;
  let token: string;
  let ids: string[]; // seeded: Doc, PDF shared by link, text, Sheet, Doc

  beforeAll(async () => {
    ({ world, sut, call, token } = await startSignedIn(USER));
    ids = world.google.itemIds('drive', USER);
  });
  afterAll(() => stopAll(world, sut));

  const download = (path: string) => fetch(`${sut.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const callsTo = (fragment: string) => world.google.apiCalls.filter((c) => c.email === USER && c.path.includes(fragment)).length;

  it('searches files with a Drive query and answers only the fields asked for', async () => {
    const res = await call('GET', `${FILES}?q=${encodeURIComponent("name contains 'file 2'")}&fields=id,name,size`);
    expect(res.status).toBe(200);
    expect(res.json.files).toEqual([{ id: ids[2], name: `${USER} file 2`, size: expect.stringMatching(/^\d+$/) }]);
  });

  it('pages through files with Drive\'s own page tokens ("~!!~..."), none lost or repeated, by REST and MCP', async () => {
    const seen: string[] = [];
    let pageToken: string | undefined;
    do {
      const res = await call('GET', `${FILES}?pageSize=2&fields=id${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`);
      expect([res.status, res.json.message]).toEqual([200, undefined]);
      seen.push(...(res.json.files as Array<{ id: string }>).map((f) => f.id));
      pageToken = (res.json.nextPageToken as string | null) ?? undefined;
      if (pageToken) expect(pageToken.startsWith('~!!~')).toBe(true);
    } while (pageToken);
    expect(seen).toEqual(ids);
    const first = await rawMcp(`${sut.url}/mcp`, token, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search_drive_files', arguments: { pageSize: 2 } } }, '2025-06-18');
    const next = await rawMcp(`${sut.url}/mcp`, token, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'search_drive_files', arguments: { pageSize: 2, pageToken: first.json.result.structuredContent.nextPageToken } } }, '2025-06-18');
    expect(next.json.result.isError).toBeUndefined();
    expect(next.json.result.structuredContent.files.map((f: { id: string }) => f.id)).toEqual(ids.slice(2, 4));
  });

  it('passes a Drive query Google cannot parse back as a 400, not as an empty result', async () => {
    const res = await call('GET', `${FILES}?q=${encodeURIComponent('name contains')}`);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('bad_request');
  });

  it('gets a file\'s metadata: owner, links, type', async () => {
    const res = await call('GET', `${FILES}/${ids[1]}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: ids[1], mimeType: 'application/pdf', owners: [{ emailAddress: USER }], webViewLink: expect.stringContaining(ids[1]) });
    const some = await call('GET', `${FILES}/${ids[1]}?fields=id,name`);
    expect(Object.keys(some.json).sort()).toEqual(['id', 'name']);
  });

  it('downloads a binary file as it is, as an attachment that is never sniffed or rendered', async () => {
    const res = await download(`${FILES}/${ids[2]}/content`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${USER} file 2"; filename*=UTF-8''${encodeURIComponent(`${USER} file 2`)}`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe('sandbox');
    expect(await res.text()).toBe(`Plain text file 2 of ${USER}\n`);

    const pdf = await download(`${FILES}/${ids[1]}/content`);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 8).toString()).toBe('%PDF-1.4');
  });

  it('exports a Google Doc as text (default), Markdown and PDF, and a Sheet as CSV', async () => {
    const text = await download(`${FILES}/${ids[0]}/content`);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text.headers.get('content-disposition')).toContain('.txt"');
    expect(await text.text()).toContain(`Notes of ${USER}`);

    const md = await download(`${FILES}/${ids[0]}/content?format=markdown`);
    expect(md.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(await md.text()).toMatch(new RegExp(`^# Notes of ${USER}`));

    const pdf = await download(`${FILES}/${ids[4]}/content?format=pdf`);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');

    const csv = await download(`${FILES}/${ids[3]}/content`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await csv.text()).split('\r\n')).toEqual(['Name,Owner,Score', `Ada,${USER},90`, `Grace,${USER},85`, `Linus,${USER},70`]);
  });

  it.each([
    ['a conversion of a binary file', 2, 'text', /Omit "format"/],
    ['a format a Sheet has not', 3, 'markdown', /csv, pdf/],
    ['an unknown format', 0, 'docx', /"format"/],
  ])('refuses %s with a 400 saying what to do', async (_what, index, format, message) => {
    const res = await call('GET', `${FILES}/${ids[index as number]}/content?format=${format}`);
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(message as RegExp);
  });

  it('uploads a small file (multipart to Drive), which Drive then holds byte for byte', async () => {
    const bytes = Buffer.from('a,b\n1,2\n\u00e9\n');
    const res = await call('POST', FILES, { name: 'numbers.csv', mimeType: 'text/csv', content: bytes.toString('base64') });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ id: expect.any(String), name: 'numbers.csv', mimeType: 'text/csv' });
    expect(world.google.driveFile(USER, res.json.id as string)?.bytes?.equals(bytes)).toBe(true);
    const back = await download(`${FILES}/${res.json.id as string}/content`);
    expect(Buffer.from(await back.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('accepts uploads up to 5 MB on the upload route only; larger content is a 400 naming the field', async () => {
    const threeMb = Buffer.alloc(3 * 1024 * 1024, 7);
    const ok = await call('POST', FILES, { name: 'big.bin', content: threeMb.toString('base64') });
    expect(ok.status).toBe(201);
    expect(world.google.driveFile(USER, ok.json.id as string)?.bytes?.length).toBe(threeMb.length);

    const tooBig = await call('POST', FILES, { name: 'huge.bin', content: Buffer.alloc(5 * 1024 * 1024 + 10).toString('base64') });
    expect(tooBig.status).toBe(400);
    expect(tooBig.json.message).toContain('"content" must be at most 5242880 bytes');
    const elsewhere = await call('POST', '/v1/users/me/drive/folders', { name: 'x'.repeat(2 * 1024 * 1024) });
    expect(elsewhere.status).toBe(413);
  });

  it('creates a folder and uploads into it; the folder lists its file', async () => {
    const folder = await call('POST', '/v1/users/me/drive/folders', { name: 'Reports' });
    expect(folder.status).toBe(201);
    expect(folder.json.mimeType).toBe('application/vnd.google-apps.folder');
    const file = await call('POST', FILES, { name: 'q1.txt', mimeType: 'text/plain', parentId: folder.json.id, content: Buffer.from('Q1').toString('base64') });
    expect(file.status).toBe(201);
    const inside = await call('GET', `${FILES}?q=${encodeURIComponent(`'${folder.json.id as string}' in parents`)}`);
    expect((inside.json.files as Array<{ id: string }>).map((f) => f.id)).toEqual([file.json.id]);
  });

  it('tells who a file\'s link opens for, without changing its sharing', async () => {
    const shared = await call('GET', `${FILES}/${ids[1]}/link`);
    expect(shared.status).toBe(200);
    expect(shared.json).toMatchObject({ id: ids[1], webViewLink: expect.stringContaining(ids[1]), linkAccess: { audience: 'anyone', role: 'reader' } });
    const restricted = await call('GET', `${FILES}/${ids[2]}/link`);
    expect(restricted.json.linkAccess).toEqual({ audience: 'restricted' });
    expect(world.google.driveFile(USER, ids[2])?.permissions).toHaveLength(1);
  });

  it('lists a file\'s permissions', async () => {
    const res = await call('GET', `${FILES}/${ids[1]}/permissions`);
    expect(res.status).toBe(200);
    expect(res.json.permissions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'user', role: 'owner', emailAddress: USER }), expect.objectContaining({ type: 'anyone', role: 'reader' })]),
    );
  });

  it('answers 404 for a file Google does not have, and 400 naming the field for an id outside Google\'s alphabet', async () => {
    const missing = await call('GET', `${FILES}/nosuchfile123`);
    expect(missing.status).toBe(404);
    expect(missing.json.error).toBe('not_found');
    const bad = await call('GET', `${FILES}/a$b/content`);
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('"fileId"');
  });

  it('retries a download answered 5xx once Google recovers, but never an upload', async () => {
    const before = callsTo(`/files/${ids[2]}`);
    world.google.failNext('api', 'server_error');
    world.google.failNext('api', 'server_error');
    const res = await download(`${FILES}/${ids[2]}/content`);
    expect(res.status).toBe(200);
    expect(callsTo(`/files/${ids[2]}`) - before).toBe(4); // metadata: 503, 503, 200; then the content

    const uploadsBefore = callsTo('/upload/drive/v3/files');
    world.google.failNext('api', 'server_error');
    const upload = await call('POST', FILES, { name: 'once.txt', content: Buffer.from('once').toString('base64') });
    expect(upload.status).toBe(502);
    expect(upload.json.error).toBe('google_unavailable');
    expect(callsTo('/upload/drive/v3/files') - uploadsBefore).toBe(1);
  });

  describe('with the default read-only scopes', () => {
    let readOnly: Service;
    let readOnlyCall: ReturnType<typeof apiClient>;

    beforeAll(async () => {
      readOnly = await startService(world);
      readOnlyCall = apiClient(readOnly, (await signIn(readOnly, world, 'drive-reader@example.com')).access_token);
    });
    afterAll(() => readOnly.close());

    it('refuses to write before calling Google, naming the scope to grant and how', async () => {
      const before = world.google.apiCalls.length;
      const res = await readOnlyCall('POST', '/v1/users/me/drive/folders', { name: 'Nope' });
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ error: 'insufficient_scope', scope: 'https://www.googleapis.com/auth/drive.file' });
      expect(res.json.message).toContain('/auth/google');
      expect(world.google.apiCalls.length).toBe(before);
    });
  });

  describe('with GOOGLE_SCOPES asking drive.file and no broader Drive scope (the files the broker makes)', () => {
    let appFiles: Service;
    let appFilesToken: string;

    beforeAll(async () => {
      appFiles = await startService(world, { GOOGLE_SCOPES: 'https://www.googleapis.com/auth/drive.file' });
      appFilesToken = (await signIn(appFiles, world, 'app-files@example.com')).access_token;
    });
    afterAll(() => appFiles.close());

    it('a browser sign-in reads back the file it uploaded: Google holds drive.file to the broker\'s files, so the service does not refuse it', async () => {
      const appCall = apiClient(appFiles, appFilesToken);
      const created = await appCall('POST', FILES, { name: 'made-here.txt', mimeType: 'text/plain', content: Buffer.from('made here').toString('base64') });
      expect(created.status).toBe(201);
      const res = await fetch(`${appFiles.url}${FILES}/${created.json.id}/content`, { headers: { authorization: `Bearer ${appFilesToken}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('made here');
      expect((await appCall('GET', `${FILES}/${created.json.id}`)).status).toBe(200);
    });
  });
});
