import { apiClient, startSignedIn } from '../support/api-client.js';
import { Service, stopAll, World } from '../support/harness.js';

const USER = 'docs-user@example.com';
const DOCS = '/v1/users/me/docs/documents';
const SHEETS = '/v1/users/me/sheets/spreadsheets';

describe('Workspace: Docs and Sheets', () => {
  let world: World;
  let sut: Service;
  let call: ReturnType<typeof apiClient>;
  let ids: string[]; // seeded Drive: Doc, PDF, text, Sheet, Doc

  beforeAll(async () => {
    ({ world, sut, call } = await startSignedIn(USER));
    ids = world.google.itemIds('drive', USER);
  });
  afterAll(() => stopAll(world, sut));

  const callsTo = (fragment: string) => world.google.apiCalls.filter((c) => c.email === USER && c.path.includes(fragment)).length;

  describe('Docs', () => {
    it('gets a document as Google\'s structured JSON', async () => {
      const res = await call('GET', `${DOCS}/${ids[0]}`);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ documentId: ids[0], title: `${USER} file 0` });
      const runs = (res.json.body as { content: Array<{ paragraph?: { elements: Array<{ textRun: { content: string } }> } }> }).content
        .flatMap((c) => c.paragraph?.elements ?? [])
        .map((e) => e.textRun.content);
      expect(runs[0]).toBe(`Notes of ${USER}\n`);
    });

    it('gets a document as plain text', async () => {
      const res = await call('GET', `${DOCS}/${ids[4]}/text`);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        documentId: ids[4],
        title: `${USER} file 4`,
        revisionId: expect.any(String),
        text: `Notes of ${USER}\nThis is document 4, seeded by the emulator.\nOwner: ${USER}\n`,
      });
    });

    it('creates a document with its first text, which reads back and shows in Drive', async () => {
      const res = await call('POST', DOCS, { title: 'Minutes', text: 'Agreed: ship on Friday.\nOwner: Ada\n' });
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({ documentId: expect.any(String), title: 'Minutes', url: expect.stringContaining(res.json.documentId as string) });
      const text = await call('GET', `${DOCS}/${res.json.documentId as string}/text`);
      expect(text.json.text).toBe('Agreed: ship on Friday.\nOwner: Ada\n\n');
      const listed = await call('GET', `/v1/users/me/drive/files?q=${encodeURIComponent("name = 'Minutes'")}`);
      expect(listed.json.files).toEqual([expect.objectContaining({ id: res.json.documentId, mimeType: 'application/vnd.google-apps.document' })]);
    });

    it('finds and replaces text, saying how many occurrences changed', async () => {
      const created = await call('POST', DOCS, { title: 'Draft', text: 'cat and Cat and cat\n' });
      const id = created.json.documentId as string;
      const caseSensitive = await call('POST', `${DOCS}/${id}/replace`, { find: 'cat', replace: 'dog' });
      expect(caseSensitive.status).toBe(200);
      expect(caseSensitive.json).toEqual({ documentId: id, occurrencesChanged: 2 });
      const anyCase = await call('POST', `${DOCS}/${id}/replace`, { find: 'CAT', replace: 'bird', matchCase: false });
      expect(anyCase.json.occurrencesChanged).toBe(1);
      const none = await call('POST', `${DOCS}/${id}/replace`, { find: 'zebra', replace: 'x' });
      expect(none.json.occurrencesChanged).toBe(0);
      expect((await call('GET', `${DOCS}/${id}/text`)).json.text).toBe('dog and bird and dog\n\n');
    });

    it('answers 404 for a file that is not a document, 400 naming the field for a bad id or an empty find', async () => {
      const notDoc = await call('GET', `${DOCS}/${ids[1]}`);
      expect(notDoc.status).toBe(404);
      expect(notDoc.json.error).toBe('not_found');
      const badId = await call('GET', `${DOCS}/..%2Fetc/text`);
      expect(badId.status).toBe(400);
      expect(badId.json.message).toContain('"documentId"');
      const emptyFind = await call('POST', `${DOCS}/${ids[0]}/replace`, { find: '', replace: 'x' });
      expect(emptyFind.status).toBe(400);
      expect(emptyFind.json.message).toContain('"find"');
    });

    it('does not retry a replace Google answered 5xx (replacing twice is not replacing once)', async () => {
      const before = callsTo(':batchUpdate');
      world.google.failNext('api', 'server_error');
      const res = await call('POST', `${DOCS}/${ids[0]}/replace`, { find: 'Notes', replace: 'Notes' });
      expect(res.status).toBe(502);
      expect(callsTo(':batchUpdate') - before).toBe(1);
    });
  });

  describe('Sheets', () => {
    it('reads a range', async () => {
      const res = await call('GET', `${SHEETS}/${ids[3]}/values?range=${encodeURIComponent('Sheet1!A1:C3')}`);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ spreadsheetId: ids[3], range: 'Sheet1!A1:C3', values: [['Name', 'Owner', 'Score'], ['Ada', USER, '90'], ['Grace', USER, '85']] });
      const raw = await call('GET', `${SHEETS}/${ids[3]}/values?range=${encodeURIComponent('Sheet1!C2')}&render=UNFORMATTED_VALUE`);
      expect(raw.json.values).toEqual([[90]]);
    });

    it('writes a range RAW by default (text stays text, "=" is no formula), USER_ENTERED when asked', async () => {
      const res = await call('PUT', `${SHEETS}/${ids[3]}/values`, { range: 'Sheet1!D1:D3', values: [['Note'], ['=1+1'], ['42']] });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ updatedRange: 'Sheet1!D1:D3', updatedRows: 3, updatedColumns: 1, updatedCells: 3 });
      expect(world.google.driveFile(USER, ids[3])?.sheets?.[0].values.map((r) => r[3])).toEqual(['Note', '=1+1', '42', undefined]);

      await call('PUT', `${SHEETS}/${ids[3]}/values`, { range: 'Sheet1!D3', values: [['42']], valueInputOption: 'USER_ENTERED' });
      expect(world.google.driveFile(USER, ids[3])?.sheets?.[0].values[2][3]).toBe(42);
    });

    it('appends rows after the table', async () => {
      const res = await call('POST', `${SHEETS}/${ids[3]}/values/append`, { range: 'Sheet1!A1:C1', values: [['Edsger', USER, 88]] });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ tableRange: 'Sheet1!A1:C4', updatedRange: 'Sheet1!A5:C5', updatedRows: 1, updatedCells: 3 });
      const back = await call('GET', `${SHEETS}/${ids[3]}/values?range=${encodeURIComponent('Sheet1!A5:C5')}`);
      expect(back.json.values).toEqual([['Edsger', USER, '88']]);
    });

    it('creates a spreadsheet with named sheets, then writes and reads it', async () => {
      const res = await call('POST', SHEETS, { title: 'Budget', sheets: ['Data', 'My summary'] });
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({ title: 'Budget', sheets: [{ title: 'Data', index: 0 }, { title: 'My summary', index: 1 }] });
      const id = res.json.spreadsheetId as string;
      const range = "'My summary'!A1:B1";
      expect((await call('PUT', `${SHEETS}/${id}/values`, { range, values: [['total', 10]] })).status).toBe(200);
      const back = await call('GET', `${SHEETS}/${id}/values?range=${encodeURIComponent(range)}`);
      expect(back.json.values).toEqual([['total', '10']]);
    });

    it('validates ranges and values before Google sees them; Google\'s own range refusal is a 400 too', async () => {
      const before = callsTo('/v4/spreadsheets');
      const badRange = await call('GET', `${SHEETS}/${ids[3]}/values?range=${encodeURIComponent('Sheet1!A1:B2:C3')}`);
      expect(badRange.status).toBe(400);
      expect(badRange.json.message).toContain('"range"');
      const noRows = await call('PUT', `${SHEETS}/${ids[3]}/values`, { range: 'Sheet1!A1', values: [] });
      expect(noRows.status).toBe(400);
      expect(noRows.json.message).toContain('"values"');
      const badInput = await call('PUT', `${SHEETS}/${ids[3]}/values`, { range: 'Sheet1!A1', values: [['x']], valueInputOption: 'FORMULA' });
      expect(badInput.json.message).toContain('"valueInputOption"');
      expect(callsTo('/v4/spreadsheets')).toBe(before);

      const unknownSheet = await call('GET', `${SHEETS}/${ids[3]}/values?range=${encodeURIComponent('Nope!A1')}`);
      expect(unknownSheet.status).toBe(400);
      expect(unknownSheet.json.error).toBe('bad_request');
      expect(JSON.stringify(unknownSheet.json)).not.toContain('Unable to parse range');
    });

    it('retries a range write (idempotent) through a 5xx, but not an append', async () => {
      const before = callsTo('/values/');
      world.google.failNext('api', 'server_error');
      const write = await call('PUT', `${SHEETS}/${ids[3]}/values`, { range: 'Sheet1!E1', values: [['again']] });
      expect(write.status).toBe(200);
      expect(callsTo('/values/') - before).toBe(2);

      world.google.failNext('api', 'server_error');
      const append = await call('POST', `${SHEETS}/${ids[3]}/values/append`, { range: 'Sheet1!A1', values: [['x']] });
      expect(append.status).toBe(502);
      expect(callsTo('/values/') - before).toBe(3);
    });
  });
});
