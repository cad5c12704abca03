import { jest } from '@jest/globals';

// The MCP SDK and each Google API's package are imported on first use (src/common/lazy-import.ts). This file's
// service runs with the SDK and the Gmail package missing, as in a broken image: their imports fail the way Node's
// does for a package that is not installed.
const missing = (name: string) => () => {
  throw Object.assign(new Error(`Cannot find package '${name}' imported from /app/dist/somewhere.js`), { code: 'ERR_MODULE_NOT_FOUND' });
};
jest.unstable_mockModule('@modelcontextprotocol/server', missing('@modelcontextprotocol/server'));
jest.unstable_mockModule('@googleapis/gmail', missing('@googleapis/gmail'));

const { startSignedIn } = await import('../support/api-client.js');
const { stopAll } = await import('../support/harness.js');
const { rawMcp } = await import('../support/mcp-clients.js');

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

describe('a library that fails to load on first use', () => {
  let started: Awaited<ReturnType<typeof startSignedIn>>;

  beforeAll(async () => {
    started = await startSignedIn('no-sdk@example.com');
  });
  afterAll(() => stopAll(started?.world, started?.sut));

  it('answers 503 JSON naming the MCP endpoint (never a 500, no internals), to every concurrent caller and again later', async () => {
    const url = `${started.sut.url}/mcp`;
    const answers = await Promise.all(Array.from({ length: 5 }, () => rawMcp(url, started.token, INITIALIZE)));
    answers.push(await rawMcp(url, started.token, INITIALIZE));
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.headers.get('retry-after')).toBe('5');
      expect(answer.json).toEqual({ statusCode: 503, error: 'feature_unavailable', message: expect.stringMatching(/^The MCP endpoint is unavailable on this instance.*Retry in a few seconds/) });
      expect(JSON.stringify(answer.json)).not.toMatch(/dist|modelcontextprotocol|Cannot find/);
    }
    // The operator finds the cause in the log.
    const logged = started.sut.logs.events('MCP SDK failed to load');
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged[0].detail).toContain('Cannot find package');
  });

  it('a Gmail call answers 503 JSON naming Gmail; the other APIs and the rest of the service still answer', async () => {
    const gmail = await started.call('GET', '/v1/users/me/gmail/messages?maxResults=1');
    expect(gmail.status).toBe(503);
    expect(gmail.json).toEqual({ statusCode: 503, error: 'feature_unavailable', message: expect.stringMatching(/^The Gmail API is unavailable on this instance/) });
    expect(started.sut.logs.events('Google API library failed to load')[0]).toMatchObject({ api: 'Gmail', detail: expect.stringContaining('Cannot find package') });
    expect((await started.call('GET', '/v1/users/me/drive/files?pageSize=1')).status).toBe(200);
    expect((await started.call('GET', '/auth/session')).status).toBe(200);
  });
});
