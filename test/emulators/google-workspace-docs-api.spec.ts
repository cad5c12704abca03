import { GoogleEmulator, startGoogleEmulator } from '../../emulators/google/google-emulator.js';
import { DOC, G, googleError, Json, refused, SHEET, workspaceClients } from './google-workspace-clients.js';

// The Docs, Sheets and People routes, driven by the googleapis clients the service uses, over real HTTP.
describe('the Google emulator\'s Docs, Sheets and People APIs', () => {
  let google: GoogleEmulator;
  beforeAll(async () => void (google = await startGoogleEmulator()));
  afterAll(() => google.stop());
  const { clientsFor } = workspaceClients(() => google);

  describe('Docs', () => {
    const texts = (doc: Json) => (doc.body.content as Json[]).filter((c) => c.paragraph).map((c) => c.paragraph.elements.map((e: Json) => e.textRun.content).join(''));

    it('answers a seeded document with Docs\' structure and indexes', async () => {
      const email = 'docs-get@example.com';
      const [id] = google.documentIds(email);
      const doc = (await (await clientsFor(email)).docs.documents.get({ documentId: id })).data as Json;
      expect(doc).toMatchObject({ documentId: id, title: `${email} file 0`, revisionId: expect.any(String) });
      expect(texts(doc)).toEqual([`Notes of ${email}\n`, 'This is document 0, seeded by the emulator.\n', `Owner: ${email}\n`]);
      const paragraphs = (doc.body.content as Json[]).filter((c) => c.paragraph);
      expect(paragraphs[0].startIndex).toBe(1);
      for (const [i, p] of paragraphs.entries()) {
        expect(p.endIndex - p.startIndex).toBe(texts(doc)[i].length);
        if (i > 0) expect(p.startIndex).toBe(paragraphs[i - 1].endIndex);
      }
    });

    it('creates a document that Drive lists, and edits it with insertText and replaceAllText', async () => {
      const email = 'docs-write@example.com';
      const c = await clientsFor(email);
      const created = (await c.docs.documents.create({ requestBody: { title: 'Minutes' } })).data;
      const id = created.documentId as string;
      expect(created.title).toBe('Minutes');
      expect((await c.drive.files.list({ q: `name = 'Minutes' and mimeType = '${DOC}'` })).data.files?.map((f) => f.id)).toEqual([id]);
      const edit = await c.docs.documents.batchUpdate({
        documentId: id,
        requestBody: { requests: [
          { insertText: { location: { index: 1 }, text: 'Agenda: budget\nBudget approved' } },
          { replaceAllText: { containsText: { text: 'budget', matchCase: false }, replaceText: 'money' } },
          { replaceAllText: { containsText: { text: 'nowhere', matchCase: true }, replaceText: 'x' } },
        ] },
      });
      // Docs leaves occurrencesChanged out when nothing matched.
      expect(edit.data.replies).toEqual([{}, { replaceAllText: { occurrencesChanged: 2 } }, { replaceAllText: {} }]);
      expect(texts((await c.docs.documents.get({ documentId: id })).data)).toEqual(['Agenda: money\n', 'money approved\n']);
      expect(google.driveFile(email, id)?.paragraphs).toEqual(['Agenda: money\n', 'money approved\n']);
      const caseSensitive = await c.docs.documents.batchUpdate({ documentId: id, requestBody: { requests: [{ replaceAllText: { containsText: { text: 'Money', matchCase: true }, replaceText: 'y' } }] } });
      expect(caseSensitive.data.replies).toEqual([{ replaceAllText: {} }]);
    });

    it('refuses unsupported requests without applying any of the batch, unknown ids, and writes without a write scope', async () => {
      const email = 'docs-refuse@example.com';
      const [id] = google.documentIds(email);
      const c = await clientsFor(email);
      const batch = [{ replaceAllText: { containsText: { text: 'Notes' }, replaceText: 'Gone' } }, { deleteContentRange: { range: { startIndex: 1, endIndex: 2 } } }];
      expect(await refused(c.docs.documents.batchUpdate({ documentId: id, requestBody: { requests: batch } }))).toMatchObject(googleError(400, 'INVALID_ARGUMENT', 'badRequest'));
      expect(google.driveFile(email, id)?.paragraphs?.[0]).toBe(`Notes of ${email}\n`);
      expect(await refused(c.docs.documents.get({ documentId: 'nope' }))).toMatchObject(googleError(404, 'NOT_FOUND', 'notFound'));
      expect((await refused(c.docs.documents.get({ documentId: google.spreadsheetId(email) }))).status).toBe(404); // not a document
      const readOnly = (await clientsFor(email, [`${G}documents.readonly`])).docs;
      expect((await readOnly.documents.get({ documentId: id })).status).toBe(200);
      const denied = googleError(403, 'PERMISSION_DENIED', 'insufficientPermissions');
      expect(await refused(readOnly.documents.batchUpdate({ documentId: id, requestBody: { requests: batch.slice(0, 1) } }))).toMatchObject(denied);
      expect(await refused(readOnly.documents.create({ requestBody: { title: 'x' } }))).toMatchObject(denied);
      expect(await refused((await clientsFor(email, [`${G}drive.metadata.readonly`])).docs.documents.get({ documentId: id }))).toMatchObject(denied);
    });
  });

  describe('Sheets', () => {
    it('reads the seeded spreadsheet in A1 notation, leaving out trailing empty cells and rows', async () => {
      const email = 'sheets-read@example.com';
      const id = google.spreadsheetId(email);
      const s = (await clientsFor(email)).sheets;
      expect((await s.spreadsheets.get({ spreadsheetId: id })).data).toMatchObject({ spreadsheetId: id, properties: { title: `${email} file 3` }, sheets: [{ properties: { sheetId: 0, title: 'Sheet1', index: 0 } }] });
      const get = async (range: string, valueRenderOption?: string) => (await s.spreadsheets.values.get({ spreadsheetId: id, range, valueRenderOption })).data;
      expect(await get('Sheet1!A1:C3')).toEqual({ range: 'Sheet1!A1:C3', majorDimension: 'ROWS', values: [['Name', 'Owner', 'Score'], ['Ada', email, '90'], ['Grace', email, '85']] });
      expect(await get('Sheet1!A:B')).toMatchObject({ range: 'Sheet1!A1:B1000', values: [['Name', 'Owner'], ['Ada', email], ['Grace', email], ['Linus', email]] });
      expect((await get('Sheet1')).values).toHaveLength(4);
      expect(await get('A1:B2')).toMatchObject({ values: [['Name', 'Owner'], ['Ada', email]] });
      expect(await get('Sheet1!C2', 'UNFORMATTED_VALUE')).toEqual({ range: 'Sheet1!C2', majorDimension: 'ROWS', values: [[90]] });
      expect(await get('Sheet1!A10:C12')).toEqual({ range: 'Sheet1!A10:C12', majorDimension: 'ROWS' }); // nothing there
      expect(await refused(get('Nope!A1'))).toMatchObject(googleError(400, 'INVALID_ARGUMENT', 'badRequest'));
      expect((await refused(get('Nope!A1'))).error.message).toContain('Unable to parse range');
      expect(await refused(s.spreadsheets.get({ spreadsheetId: google.documentIds(email)[0] }))).toMatchObject(googleError(404, 'NOT_FOUND', 'notFound'));
    });

    it('writes RAW and USER_ENTERED values, within the range, and reads them back', async () => {
      const email = 'sheets-write@example.com';
      const id = google.spreadsheetId(email);
      const s = (await clientsFor(email)).sheets;
      const put = (range: string, values: unknown[][], valueInputOption?: string) => s.spreadsheets.values.update({ spreadsheetId: id, range, valueInputOption, requestBody: { values } });
      expect((await put('Sheet1!D1:E2', [['Note', '7'], ['x']], 'RAW')).data).toEqual({ spreadsheetId: id, updatedRange: 'Sheet1!D1:E2', updatedRows: 2, updatedColumns: 2, updatedCells: 3 });
      await put('Sheet1!F1', [['7']], 'USER_ENTERED');
      const raw = (await s.spreadsheets.values.get({ spreadsheetId: id, range: 'Sheet1!D1:F1', valueRenderOption: 'UNFORMATTED_VALUE' })).data.values;
      expect(raw).toEqual([['Note', '7', 7]]); // RAW kept the text, USER_ENTERED parsed the number
      await put('Sheet1!G1:I1', [['', 'middle', '']], 'RAW');
      expect((await s.spreadsheets.values.get({ spreadsheetId: id, range: 'Sheet1!G1:I1' })).data.values).toEqual([['', 'middle']]);
      expect(google.driveFile(email, id)?.sheets?.[0].values[0].slice(3, 6)).toEqual(['Note', '7', 7]);
      expect((await refused(put('Sheet1!A1', [['x']])))).toMatchObject(googleError(400, 'INVALID_ARGUMENT', 'badRequest')); // valueInputOption is required
      expect((await refused(put('Sheet1!A1:B1', [['a', 'b', 'c']], 'RAW'))).error.message).toContain('tried writing to column [C]');
      expect(google.driveFile(email, id)?.sheets?.[0].values[0][0]).toBe('Name');
    });

    it('appends after the table, and creates spreadsheets that Drive lists and exports', async () => {
      const email = 'sheets-append@example.com';
      const id = google.spreadsheetId(email);
      const c = await clientsFor(email);
      const append = (spreadsheetId: string, range: string, values: unknown[][]) => c.sheets.spreadsheets.values.append({ spreadsheetId, range, valueInputOption: 'USER_ENTERED', requestBody: { values } });
      const first = (await append(id, 'Sheet1!A1:C1', [['Edsger', email, '88']])).data;
      expect(first).toMatchObject({ spreadsheetId: id, tableRange: 'Sheet1!A1:C4', updates: { updatedRange: 'Sheet1!A5:C5', updatedRows: 1, updatedColumns: 3, updatedCells: 3 } });
      expect((await append(id, 'Sheet1', [['Barbara', email, '91']])).data.updates?.updatedRange).toBe('Sheet1!A6:C6');
      expect((await c.sheets.spreadsheets.values.get({ spreadsheetId: id, range: 'Sheet1!A5:C6', valueRenderOption: 'UNFORMATTED_VALUE' })).data.values).toEqual([['Edsger', email, 88], ['Barbara', email, 91]]);

      const created = (await c.sheets.spreadsheets.create({ requestBody: { properties: { title: 'Budget' }, sheets: [{ properties: { title: 'Data' } }, { properties: { title: 'My summary' } }] } })).data;
      expect(created.sheets?.map((sh) => [sh.properties?.title, sh.properties?.index])).toEqual([['Data', 0], ['My summary', 1]]);
      const newId = created.spreadsheetId as string;
      expect((await c.drive.files.list({ q: `mimeType = '${SHEET}' and name = 'Budget'` })).data.files?.map((f) => f.id)).toEqual([newId]);
      await c.sheets.spreadsheets.values.update({ spreadsheetId: newId, range: "'My summary'!A1", valueInputOption: 'RAW', requestBody: { values: [['total', 10]] } });
      expect((await c.sheets.spreadsheets.values.get({ spreadsheetId: newId, range: "'My summary'!A1:B1" })).data.values).toEqual([['total', '10']]);
      await append(newId, 'Data!A1', [['a', 'b']]);
      expect(String((await c.drive.files.export({ fileId: newId, mimeType: 'text/csv' }, { responseType: 'text' })).data)).toBe('a,b');
    });

    it('keeps the Sheets scopes: read-only reads, cannot write', async () => {
      const email = 'sheets-scopes@example.com';
      const id = google.spreadsheetId(email);
      const s = (await clientsFor(email, [`${G}spreadsheets.readonly`])).sheets;
      expect((await s.spreadsheets.values.get({ spreadsheetId: id, range: 'Sheet1!A1' })).data.values).toEqual([['Name']]);
      const denied = googleError(403, 'PERMISSION_DENIED', 'insufficientPermissions');
      expect(await refused(s.spreadsheets.values.update({ spreadsheetId: id, range: 'Sheet1!A1', valueInputOption: 'RAW', requestBody: { values: [['x']] } }))).toMatchObject(denied);
      expect(await refused(s.spreadsheets.create({ requestBody: { properties: { title: 'x' } } }))).toMatchObject(denied);
      expect(google.driveFile(email, id)?.sheets?.[0].values[0][0]).toBe('Name');
    });
  });

  describe('People', () => {
    it('searches contacts by name or email prefix, with the fields of readMask only', async () => {
      const email = 'people-search@example.com';
      const p = (await clientsFor(email)).people;
      const search = async (query: string, pageSize?: number, readMask = 'names,emailAddresses') => (await p.people.searchContacts({ query, readMask, pageSize })).data;
      const ada = (await search('ada')).results ?? [];
      expect(ada).toEqual([{ person: { resourceName: `people/${google.contactIds(email)[0]}`, etag: expect.any(String), names: [expect.objectContaining({ displayName: 'Ada Lovelace' })], emailAddresses: [expect.objectContaining({ value: 'ada@analytical.example' })] } }]);
      const name = (r: { results?: Json[] }) => (r.results ?? []).map((x) => x.person.names[0].displayName);
      expect(name(await search('grace@'))).toEqual(['Grace Hopper']);
      expect(name(await search('TUR'))).toEqual(['Alan Turing']);
      expect(name(await search('a'))).toEqual(['Ada Lovelace', 'Alan Turing']);
      expect(name(await search('a', 1))).toEqual(['Ada Lovelace']);
      expect(name(await search('a', 31))).toHaveLength(2); // People cuts pageSize to 30
      expect(await search('zzz')).toEqual({});
      expect(await refused(p.people.searchContacts({ query: 'ada' }))).toMatchObject(googleError(400, 'INVALID_ARGUMENT', 'badRequest'));
      expect(await refused(search('ada', undefined, 'names,shoeSize'))).toMatchObject(googleError(400, 'INVALID_ARGUMENT', 'badRequest'));
    });

    it('gets a contact with personFields, and 404s another user\'s or an unknown contact', async () => {
      const email = 'people-get@example.com';
      const p = (await clientsFor(email, ['email', `${G}contacts.readonly`])).people;
      const id = google.contactIds(email)[1];
      const grace = (await p.people.get({ resourceName: `people/${id}`, personFields: 'names,phoneNumbers' })).data;
      expect(Object.keys(grace).sort()).toEqual(['etag', 'names', 'phoneNumbers', 'resourceName']);
      expect(grace).toMatchObject({ resourceName: `people/${id}`, names: [{ givenName: 'Grace', familyName: 'Hopper' }], phoneNumbers: [{ value: expect.any(String) }] });
      expect(await refused(p.people.get({ resourceName: `people/${id}` }))).toMatchObject(googleError(400, 'INVALID_ARGUMENT', 'badRequest'));
      const notFound = googleError(404, 'NOT_FOUND', 'notFound');
      expect(await refused(p.people.get({ resourceName: `people/${google.contactIds('other@example.com')[1]}`, personFields: 'names' }))).toMatchObject(notFound);
      expect(await refused(p.people.get({ resourceName: 'people/c1', personFields: 'names' }))).toMatchObject(notFound);
      const noContacts = (await clientsFor(email, [`${G}drive`])).people;
      expect(await refused(noContacts.people.get({ resourceName: `people/${id}`, personFields: 'names' }))).toMatchObject(googleError(403, 'PERMISSION_DENIED', 'insufficientPermissions'));
    });
  });
});
