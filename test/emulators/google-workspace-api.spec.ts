import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GoogleEmulator, startGoogleEmulator } from '../../emulators/google/google-emulator.js';
import { DOC, FOLDER, FULL, G, googleError, Json, refused, workspaceClients } from './google-workspace-clients.js';

// Drive, and what every Workspace route shares (recording, tokens, injected failures), through the googleapis clients.
describe('the Google emulator\'s Drive API and Workspace routing', () => {
  let google: GoogleEmulator;
  beforeAll(async () => void (google = await startGoogleEmulator()));
  afterAll(() => google.stop());
  const { tokenFor, clientsFor, upload } = workspaceClients(() => google);

  describe('Drive', () => {
    it('lists seeded and created files, paged, and filters them with q', async () => {
      const email = 'drive-list@example.com';
      const { drive: d } = await clientsFor(email);
      const folder = (await d.files.create({ requestBody: { name: 'Reports', mimeType: FOLDER } })).data;
      const inside = (await d.files.create({ requestBody: { name: 'Q1 notes', mimeType: 'text/plain', parents: [folder.id as string] } })).data;
      const seen: string[] = [];
      let pageToken: string | undefined;
      do {
        const page = (await d.files.list({ pageSize: 3, pageToken })).data;
        seen.push(...(page.files ?? []).map((f) => f.id as string));
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);
      expect(seen).toEqual([...google.itemIds('drive', email), folder.id, inside.id]);
      const names = async (q: string) => ((await d.files.list({ q, fields: 'files(id,name)' })).data.files ?? []).map((f) => f.name);
      expect(await names(`name contains 'FILE 3'`)).toEqual([`${email} file 3`]);
      expect(await names(`name = 'Reports'`)).toEqual(['Reports']);
      expect(await names(`mimeType = '${DOC}' and trashed = false`)).toEqual([`${email} file 0`, `${email} file 4`]);
      expect(await names(`'${folder.id}' in parents`)).toEqual(['Q1 notes']);
      expect(await names(`'root' in parents and name contains 'Q1'`)).toEqual([]);
      expect(await refused(d.files.list({ q: 'name ~ maybe' }))).toMatchObject(googleError(400, 'INVALID_ARGUMENT', 'invalid'));
    });

    it('answers file metadata, with fields, and 404 for ids the user does not have', async () => {
      const email = 'drive-get@example.com';
      const { drive: d } = await clientsFor(email);
      const ids = google.itemIds('drive', email);
      const pdf = (await d.files.get({ fileId: ids[1], fields: '*' })).data;
      expect(pdf).toMatchObject({ id: ids[1], name: `${email} file 1`, mimeType: 'application/pdf', parents: ['root'], owners: [expect.objectContaining({ emailAddress: email })] });
      expect(Number(pdf.size)).toBe(google.driveFile(email, ids[1])?.bytes?.length);
      expect(pdf.webViewLink).toContain(ids[1]);
      expect(Date.parse(pdf.modifiedTime as string)).toBeGreaterThanOrEqual(Date.parse(pdf.createdTime as string));
      expect((await d.files.get({ fileId: ids[0], fields: 'id,name' })).data).toEqual({ id: ids[0], name: `${email} file 0` });
      expect((await d.files.get({ fileId: ids[0], fields: '*' })).data).not.toHaveProperty('size'); // Google formats have no bytes
      expect(await refused(d.files.get({ fileId: 'fnope' }))).toMatchObject(googleError(404, 'NOT_FOUND', 'notFound'));
      const other = google.itemIds('drive', 'someone-else@example.com')[0];
      expect(await refused(d.files.get({ fileId: other }))).toMatchObject(googleError(404, 'NOT_FOUND', 'notFound'));
    });

    it('downloads binary files and refuses to download Google Docs formats', async () => {
      const email = 'drive-media@example.com';
      const { drive: d } = await clientsFor(email);
      const ids = google.itemIds('drive', email);
      const pdf = await d.files.get({ fileId: ids[1], alt: 'media' }, { responseType: 'text' });
      expect(String(pdf.data)).toMatch(/^%PDF-1\.4\n[^]*%%EOF\n$/);
      expect(String((await d.files.get({ fileId: ids[2], alt: 'media' }, { responseType: 'text' })).data)).toContain(email);
      expect(await refused(d.files.get({ fileId: ids[0], alt: 'media' }))).toMatchObject(googleError(403, 'PERMISSION_DENIED', 'fileNotDownloadable'));
    });

    it('exports Docs and Sheets from their content, and refuses other conversions', async () => {
      const email = 'drive-export@example.com';
      const { drive: d } = await clientsFor(email);
      const ids = google.itemIds('drive', email);
      const exported = async (fileId: string, mimeType: string) => String((await d.files.export({ fileId, mimeType }, { responseType: 'text' })).data);
      expect(await exported(ids[0], 'text/plain')).toBe(`Notes of ${email}\r\nThis is document 0, seeded by the emulator.\r\nOwner: ${email}`);
      expect(await exported(ids[4], 'text/markdown')).toMatch(new RegExp(`^# Notes of ${email}\n\nThis is document 4`));
      expect(await exported(ids[0], 'text/html')).toContain(`<p>Owner: ${email}</p>`);
      expect(await exported(ids[0], 'application/pdf')).toMatch(/^%PDF-1\.4/);
      expect((await exported(ids[3], 'text/csv')).split('\r\n')).toEqual(['Name,Owner,Score', `Ada,${email},90`, `Grace,${email},85`, `Linus,${email},70`]);
      expect(await exported(ids[3], 'application/pdf')).toContain('Grace');
      expect(await refused(d.files.export({ fileId: ids[0], mimeType: 'text/csv' }))).toMatchObject(googleError(400, 'INVALID_ARGUMENT', 'badRequest'));
      expect((await refused(d.files.export({ fileId: ids[1], mimeType: 'text/plain' }))).status).toBe(400); // not a Google format
    });

    it('creates folders, uploads multipart and media-only, and serves the stored bytes back', async () => {
      const email = 'drive-upload@example.com';
      const { drive: d } = await clientsFor(email);
      const folder = (await d.files.create({ requestBody: { name: 'Inbox', mimeType: FOLDER }, fields: 'id,mimeType,webViewLink' })).data;
      expect(folder).toEqual({ id: expect.any(String), mimeType: FOLDER, webViewLink: expect.stringContaining('/folders/') });
      const bytes = randomBytes(4096); // not UTF-8: the raw body must survive
      const created = await d.files.create(
        { requestBody: { name: 'blob.bin', parents: [folder.id as string] }, media: { mimeType: 'application/octet-stream', body: Readable.from([bytes]) }, fields: 'id,name,mimeType,size,parents' },
        upload(),
      );
      expect(created.data).toEqual({ id: expect.any(String), name: 'blob.bin', mimeType: 'application/octet-stream', size: '4096', parents: [folder.id] });
      const id = created.data.id as string;
      const back = await d.files.get({ fileId: id, alt: 'media' }, { responseType: 'arraybuffer' });
      expect(Buffer.from(back.data as unknown as ArrayBuffer).equals(bytes)).toBe(true);
      expect(google.driveFile(email, id)?.bytes?.equals(bytes)).toBe(true);
      const plain = await d.files.create({ media: { mimeType: 'text/plain', body: Readable.from([Buffer.from('just media')]) } }, upload());
      expect(google.driveFile(email, plain.data.id as string)).toMatchObject({ name: 'Untitled', mimeType: 'text/plain', bytes: Buffer.from('just media') });
      // Drive converts an upload whose metadata names a Google format.
      const converted = await d.files.create({ requestBody: { name: 'Imported', mimeType: DOC }, media: { mimeType: 'text/plain', body: 'first line\nsecond line' } }, upload());
      expect(String((await d.files.export({ fileId: converted.data.id as string, mimeType: 'text/plain' }, { responseType: 'text' })).data)).toBe('first line\r\nsecond line');
      expect(await refused(d.files.create({ requestBody: { name: 'lost', parents: ['no-such-folder'] } }))).toMatchObject(googleError(404, 'NOT_FOUND', 'notFound'));
    });

    it('keeps private properties (appProperties) from create and update, answers them by fields, and searches by them', async () => {
      const email = 'drive-props@example.com';
      const { drive: d, docs } = await clientsFor(email);
      const folder = (await d.files.create({ requestBody: { name: 'Tagged', mimeType: FOLDER, appProperties: { by: 'app-a' } }, fields: 'id,appProperties' })).data;
      expect(folder.appProperties).toEqual({ by: 'app-a' });
      const uploaded = await d.files.create({ requestBody: { name: 'tagged.txt', appProperties: { by: 'app-b', n: '1' } }, media: { mimeType: 'text/plain', body: 'x' }, fields: 'id' }, upload());
      const id = uploaded.data.id as string;
      expect((await d.files.get({ fileId: id, fields: 'appProperties' })).data).toEqual({ appProperties: { by: 'app-b', n: '1' } });
      // A file without any: Drive leaves the map out.
      expect((await d.files.get({ fileId: google.itemIds('drive', email)[2], fields: 'id,appProperties' })).data).toEqual({ id: google.itemIds('drive', email)[2] });
      // An update merges key by key: a null removes one, keys left out stay, other metadata is untouched.
      const updated = await d.files.update({ fileId: id, requestBody: { appProperties: { by: 'app-a', n: null as unknown as string, more: 'yes' } }, fields: 'id,name,appProperties' });
      expect(updated.data).toEqual({ id, name: 'tagged.txt', appProperties: { by: 'app-a', more: 'yes' } });
      const doc = (await docs.documents.create({ requestBody: { title: 'Tagged doc' } })).data.documentId as string;
      await d.files.update({ fileId: doc, requestBody: { appProperties: { by: 'app-a' } } });
      // Search: the exact key and value, combined with the rest of the query language.
      const names = async (q: string) => ((await d.files.list({ q, fields: 'files(id,name)' })).data.files ?? []).map((f) => f.name).sort();
      expect(await names("appProperties has { key='by' and value='app-a' }")).toEqual(['Tagged', 'Tagged doc', 'tagged.txt']);
      expect(await names("(name contains 'doc' or mimeType = 'text/plain') and appProperties has { key='by' and value='app-a' }")).toEqual(['Tagged doc', 'tagged.txt']);
      expect(await names("not appProperties has { key='by' and value='app-a' } and name contains 'Tagged'")).toEqual([]);
      expect(await names("appProperties has { key='by' and value='app-b' }")).toEqual([]);
      for (const q of ["appProperties has { key='by' }", "(name contains 'x'", "name contains 'x')", "appProperties has { key='by' and value='app-a'"]) {
        expect({ q, answer: await refused(d.files.list({ q })) }).toMatchObject({ q, answer: googleError(400, 'INVALID_ARGUMENT', 'invalid') });
      }
    });

    it("refuses private properties beyond Drive's limits: 124 bytes of key and value, 30 a file, string values", async () => {
      const email = 'drive-props-limits@example.com';
      const { drive: d } = await clientsFor(email);
      const id = (await d.files.create({ requestBody: { name: 'limits', mimeType: FOLDER, appProperties: { k: 'v'.repeat(123) } }, fields: 'id' })).data.id as string;
      expect((await d.files.get({ fileId: id, fields: 'appProperties' })).data.appProperties?.k).toHaveLength(123);
      const invalid = googleError(400, 'INVALID_ARGUMENT', 'invalid');
      expect(await refused(d.files.update({ fileId: id, requestBody: { appProperties: { k: 'v'.repeat(124) } } }))).toMatchObject(invalid);
      expect(await refused(d.files.create({ requestBody: { name: 'x', appProperties: { ['é'.repeat(62)]: 'v' } } }))).toMatchObject(invalid); // bytes, not characters
      const many = Object.fromEntries(Array.from({ length: 30 }, (_x, i) => [`p${i}`, 'v']));
      expect(await refused(d.files.update({ fileId: id, requestBody: { appProperties: many } }))).toMatchObject(invalid); // 31 with k
      expect(await refused(d.files.create({ requestBody: { name: 'x', appProperties: { k: 1 as unknown as string } } }))).toMatchObject(invalid);
      expect((await d.files.get({ fileId: id, fields: 'appProperties' })).data.appProperties).toEqual({ k: 'v'.repeat(123) });
      const readOnly = (await clientsFor(email, [`${G}drive.readonly`])).drive;
      expect(await refused(readOnly.files.update({ fileId: id, requestBody: { appProperties: { k: 'x' } } }))).toMatchObject(googleError(403, 'PERMISSION_DENIED', 'insufficientPermissions'));
      expect(await refused(d.files.update({ fileId: 'nope', requestBody: { appProperties: { k: 'x' } } }))).toMatchObject(googleError(404, 'NOT_FOUND', 'notFound'));
    });

    it('lists permissions: the owner on every file, anyone-with-link on the shared seeded PDF', async () => {
      const email = 'drive-perm@example.com';
      const { drive: d } = await clientsFor(email);
      const ids = google.itemIds('drive', email);
      const owner = expect.objectContaining({ type: 'user', role: 'owner', emailAddress: email });
      expect((await d.permissions.list({ fileId: ids[1] })).data.permissions).toEqual([owner, expect.objectContaining({ type: 'anyone', role: 'reader' })]);
      expect((await d.permissions.list({ fileId: ids[2] })).data.permissions).toEqual([owner]);
      expect(await refused(d.permissions.list({ fileId: 'nope' }))).toMatchObject(googleError(404, 'NOT_FOUND', 'notFound'));
    });

    it('keeps Drive\'s scope rules: metadata scopes see but cannot read content, read-only scopes cannot write', async () => {
      const email = 'drive-scopes@example.com';
      const ids = google.itemIds('drive', email);
      const denied = googleError(403, 'PERMISSION_DENIED', 'insufficientPermissions');
      const meta = (await clientsFor(email, [`${G}drive.metadata.readonly`])).drive;
      expect((await meta.files.list({})).data.files).toHaveLength(5);
      expect((await meta.files.get({ fileId: ids[1] })).data.id).toBe(ids[1]);
      expect(await refused(meta.files.get({ fileId: ids[1], alt: 'media' }))).toMatchObject(denied);
      expect(await refused(meta.files.export({ fileId: ids[0], mimeType: 'text/plain' }))).toMatchObject(denied);
      const readOnly = (await clientsFor(email, [`${G}drive.readonly`])).drive;
      expect(String((await readOnly.files.get({ fileId: ids[2], alt: 'media' }, { responseType: 'text' })).data)).toContain(email);
      expect(await refused(readOnly.files.create({ requestBody: { name: 'x', mimeType: FOLDER } }))).toMatchObject(denied);
      expect(await refused(readOnly.files.create({ requestBody: { name: 'x' }, media: { mimeType: 'text/plain', body: 'x' } }, upload()))).toMatchObject(denied);
      const fileOnly = (await clientsFor(email, [`${G}drive.file`])).drive;
      expect((await fileOnly.files.create({ requestBody: { name: 'by the app', mimeType: FOLDER } })).status).toBe(200);
      const noDrive = (await clientsFor(email, [`${G}contacts.readonly`])).drive;
      expect(await refused(noDrive.files.list({}))).toMatchObject(denied);
    });
  });

  describe('routing, tokens and injected failures', () => {
    it('records each call under its API, checks the token, and leaves OAuth userinfo at /v1/userinfo alone', async () => {
      const email = 'routes@example.com';
      const token = await tokenFor(email, FULL);
      const c = await clientsFor(email);
      const before = google.apiCalls.length;
      await c.docs.documents.get({ documentId: google.documentIds(email)[1] });
      await c.sheets.spreadsheets.get({ spreadsheetId: google.spreadsheetId(email) });
      await c.people.people.get({ resourceName: `people/${google.contactIds(email)[0]}`, personFields: 'names' });
      await c.drive.files.create({ requestBody: { name: 'f' }, media: { mimeType: 'text/plain', body: 'x' } }, upload());
      expect(google.apiCalls.slice(before).map((call) => [call.api, call.method, call.path.split('/').slice(0, 3).join('/'), call.email, call.status])).toEqual([
        ['docs', 'GET', '/v1/documents', email, 200],
        ['sheets', 'GET', '/v4/spreadsheets', email, 200],
        ['people', 'GET', '/v1/people', email, 200],
        ['drive', 'POST', '/upload/drive', email, 200],
      ]);
      const info = await fetch(google.urls.userinfo, { headers: { authorization: `Bearer ${token}` } });
      expect([info.status, ((await info.json()) as Json).email]).toEqual([200, email]);
      expect(google.apiCalls).toHaveLength(before + 4); // userinfo is no Workspace API call
      google.expireAccessTokens(email);
      expect(await refused(c.sheets.spreadsheets.get({ spreadsheetId: google.spreadsheetId(email) }))).toMatchObject(googleError(401, 'UNAUTHENTICATED', 'authError'));
    });

    it('fails the next call with Google\'s own 403 or 404 on request, even when the scopes allow it', async () => {
      const email = 'inject@example.com';
      const c = await clientsFor(email);
      const id = google.spreadsheetId(email);
      google.failNext('api', 'insufficient_permissions');
      expect(await refused(c.drive.files.list({}))).toMatchObject(googleError(403, 'PERMISSION_DENIED', 'insufficientPermissions'));
      expect((await c.drive.files.list({})).data.files).toHaveLength(5); // once only
      google.failNext('api', 'not_found');
      expect(await refused(c.sheets.spreadsheets.values.get({ spreadsheetId: id, range: 'Sheet1!A1' }))).toMatchObject(googleError(404, 'NOT_FOUND', 'notFound'));
      expect(google.apiCalls.at(-1)).toMatchObject({ api: 'sheets', status: 404 });
      // The HTTP control knows the new failures too.
      const ctl = await fetch(`${google.baseUrl}/__emulator/fail-next?endpoint=api&failure=not_found`, { method: 'POST' });
      expect(ctl.status).toBe(200);
      expect(await refused(c.people.people.get({ resourceName: `people/${google.contactIds(email)[0]}`, personFields: 'names' }))).toMatchObject(googleError(404, 'NOT_FOUND', 'notFound'));
      expect((await c.people.people.get({ resourceName: `people/${google.contactIds(email)[0]}`, personFields: 'names' })).status).toBe(200);
    });

    it('names the seeded documents and spreadsheet among the Drive items', () => {
      const ids = google.itemIds('drive', 'ids@example.com');
      expect(google.documentIds('IDS@example.com')).toEqual([ids[0], ids[4]]);
      expect(google.spreadsheetId('ids@example.com')).toBe(ids[3]);
      expect(google.contactIds('ids@example.com')).not.toEqual(google.contactIds('other@example.com'));
    });
  });
});
