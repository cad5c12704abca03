import { apiClient } from '../support/api-client.js';
import { Service, startService, startWorld, stopAll, World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';
import { OAuthTestClient, WatchedBrowser } from '../support/oauth-tokens.js';

const DRIVE_FILE = 'https://www.googleapis.com/auth/drive.file';
const MALLORY = 'mallory@example.com';
const VICTIM = 'victim@example.com';
const FILES = '/v1/users/me/drive/files';
const DOCS = '/v1/users/me/docs/documents';
const idsOf = (json: Record<string, unknown>) => ((json.files ?? []) as Array<{ id: string }>).map((f) => f.id).sort();

/**
 * drive.file holds an OAuth client to the files it created for *this* user, as Google's own drive.file is granted
 * per user. Anyone who uses the same public client (a popular MCP client's metadata document, say) could otherwise
 * create files through it and share them with someone else: in that person's Drive they would carry the client's
 * mark, be listed among "its own files" and be read and written by it, so an honest agent saving the person's notes
 * to "its" document or folder would hand them to the one who planted it.
 */
describe('drive.file per OAuth client and per user: a file another user made through the same client and shared is not this user\'s', () => {
  let world: World;
  let sut: Service;
  let mallory: string;
  let victim: string;
  const planted = { doc: '', folder: '' };

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world, { JWT_ISSUER: undefined });
    const client = await OAuthTestClient.register(sut, world);
    mallory = (await client.tokens(MALLORY, { scope: DRIVE_FILE }, new WatchedBrowser(world.google.urls.auth))).access_token;
    victim = (await client.tokens(VICTIM, { scope: DRIVE_FILE }, new WatchedBrowser(world.google.urls.auth))).access_token;
    const call = apiClient(sut, mallory);
    const doc = await call('POST', DOCS, { title: 'Notes', text: 'keep your notes here' });
    const folder = await call('POST', '/v1/users/me/drive/folders', { name: 'Reports' });
    expect([doc.status, folder.status]).toEqual([201, 201]);
    planted.doc = doc.json.documentId as string;
    planted.folder = folder.json.id as string;
    // Mallory shares both with the victim, who can now see and edit them in Drive.
    world.google.shareDriveFile(MALLORY, planted.doc, VICTIM, 'writer');
    world.google.shareDriveFile(MALLORY, planted.folder, VICTIM, 'writer');
  });
  afterAll(() => stopAll(world, sut));

  it("does not list them among the client's files of the victim, and refuses reading, changing or filling them, while the victim's own files are reached", async () => {
    const call = apiClient(sut, victim);
    const own = await call('POST', DOCS, { title: 'My notes', text: 'mine' });
    expect(own.status).toBe(201);
    expect(idsOf((await call('GET', FILES)).json)).toEqual([own.json.documentId]);
    expect((await call('GET', `${DOCS}/${own.json.documentId as string}/text`)).status).toBe(200);
    for (const [method, path, body] of [
      ['GET', `${DOCS}/${planted.doc}/text`, undefined],
      ['GET', `${FILES}/${planted.doc}`, undefined],
      ['POST', `${DOCS}/${planted.doc}/replace`, { find: 'keep', replace: 'the victim wrote: secret' }],
      ['POST', FILES, { name: 'secret.txt', mimeType: 'text/plain', parentId: planted.folder, content: Buffer.from('secret').toString('base64') }],
      ['POST', '/v1/users/me/drive/folders', { name: 'private', parentId: planted.folder }],
    ] as const) {
      const res = await call(method, path, body);
      expect([method, path, res.status, res.json.error]).toEqual([method, path, 403, 'insufficient_scope']);
    }
    expect(world.google.driveFile(MALLORY, planted.doc)?.paragraphs?.join('')).toBe('keep your notes here\n');
    const byTool = await rawMcp(`${sut.url}/mcp`, victim, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_doc_content', arguments: { documentId: planted.doc } } });
    expect([byTool.status, byTool.json.error]).toEqual([403, 'insufficient_scope']);
  });

  it('still reaches them for the user who made them', async () => {
    const call = apiClient(sut, mallory);
    expect(idsOf((await call('GET', FILES)).json)).toEqual([planted.doc, planted.folder].sort());
    expect((await call('GET', `${DOCS}/${planted.doc}/text`)).status).toBe(200);
  });
});
