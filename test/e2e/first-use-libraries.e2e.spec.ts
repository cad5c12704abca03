import { startSignedIn } from '../support/api-client.js';
import { stopAll } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';
import { WORKSPACE_CATALOGUE } from '../../src/workspace/catalogue/catalogue.js';

/**
 * The MCP SDK and each Google API's package are imported on first use (src/common/lazy-import.ts). A fresh replica's
 * first requests arrive together: each must wait for the one shared import and then answer as a warm replica does.
 */
describe('a fresh replica: first requests that need a library not loaded yet', () => {
  let started: Awaited<ReturnType<typeof startSignedIn>>;

  beforeAll(async () => {
    started = await startSignedIn('first-use@example.com');
  });
  afterAll(() => stopAll(started?.world, started?.sut));

  it('concurrent first MCP requests all answer, from one SDK import', async () => {
    const url = `${started.sut.url}/mcp`;
    const list = (id: number) => rawMcp(url, started.token, { jsonrpc: '2.0', id, method: 'tools/list', params: {} }, '2025-06-18');
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => list(i + 1)));
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      expect(answer.json.id).toBe(i + 1);
      expect(answer.json.result.tools).toHaveLength(WORKSPACE_CATALOGUE.length);
    }
    expect(started.sut.logs.events('MCP SDK failed to load')).toEqual([]);
  });

  it('concurrent first calls to five Google APIs all answer, and so do the warm calls after them', async () => {
    const paths = ['gmail/messages?maxResults=2', 'drive/files?pageSize=2', 'calendar/calendars', 'tasks/lists', 'contacts?q=a'];
    const first = await Promise.all(paths.flatMap((p) => [1, 2, 3].map(() => started.call('GET', `/v1/users/me/${p}`).then((r) => [p, r.status, r.json] as const))));
    for (const [path, status, json] of first) expect([path, status, json.error]).toEqual([path, 200, undefined]);
    const warm = await Promise.all(paths.map((p) => started.call('GET', `/v1/users/me/${p}`)));
    expect(warm.map((r) => r.status)).toEqual(paths.map(() => 200));
    expect((warm[0].json.messages as unknown[]).length).toBe(2);
    expect(started.sut.logs.events('Google API library failed to load')).toEqual([]);
  });
});
