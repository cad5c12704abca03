import { downloadDriveFileWhile, useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import type { FaultRule, ProxiedRequest } from '../support/fault-proxy.js';
import { getWithBearer, signIn } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';

const GOOGLE_HTTP_TIMEOUT_MS = 1000;
const MARGIN_MS = 1500;
/** Drive's media download of one file (`alt=media`), the request a file's content comes from. */
const MEDIA = { method: 'GET', path: /^\/drive\/v3\/files\/[^/]+$/, query: /alt=media/ };
/** How long a test waits for an answer: far below the 10-minute bound of streamed downloads, which must not apply. */
const CLIENT_PATIENCE_MS = 8000;

/**
 * Google calls are really cancelled on timeout: the proxy in front of the emulator stalls one endpoint and sees the
 * service close the connection once GOOGLE_HTTP_TIMEOUT_MS has passed (not merely stop waiting for it).
 */
describe('Google calls that hang are cancelled (the socket is closed) after GOOGLE_HTTP_TIMEOUT_MS', () => {
  const app = useAppBehindGoogleProxy({ GOOGLE_HTTP_TIMEOUT_MS: String(GOOGLE_HTTP_TIMEOUT_MS) });

  /**
   * Waits until every stalled request matching has been given up by the service, and returns them (requests on the
   * same path that were answered, such as a file's metadata before its content, are not the ones that hung).
   */
  async function closedByService(method: string, path: string | RegExp, since: number): Promise<ProxiedRequest[]> {
    const stalled = () => app.proxy.seen(method, path).filter((r) => r.at >= since && (r.fault === 'stall' || r.fault === 'stall-body'));
    for (let i = 0; i < 40; i++) {
      const seen = stalled();
      if (seen.length > 0 && seen.every((r) => r.clientClosedAt !== undefined)) return seen;
      await new Promise((r) => setTimeout(r, 100));
    }
    return stalled();
  }

  function expectCancelledInTime(seen: ProxiedRequest[]): void {
    expect(seen.length).toBeGreaterThan(0);
    for (const r of seen) {
      expect(r.fault).toBe('stall');
      expect(r.clientClosedAt).toBeDefined();
      const heldMs = (r.clientClosedAt as number) - r.at;
      expect(heldMs).toBeGreaterThanOrEqual(GOOGLE_HTTP_TIMEOUT_MS - 100);
      expect(heldMs).toBeLessThan(GOOGLE_HTTP_TIMEOUT_MS + MARGIN_MS);
    }
  }

  it('a Workspace API call (googleapis)', async () => {
    const user = await signIn(app.sut, app.world, 'api@example.com');
    const since = Date.now();
    app.proxy.inject({ method: 'GET', path: '/drive/v3/files', fault: 'stall', times: Infinity });
    const res = await getWithBearer(app.sut, '/v1/users/me/drive/files', user.access_token);
    expect(res.status).toBeGreaterThanOrEqual(502);
    expect(await res.json()).toMatchObject({ message: expect.stringMatching(/Google/) });
    expectCancelledInTime(await closedByService('GET', '/drive/v3/files', since));
  });

  it('a Drive file read by the MCP tool get_drive_file_content: an isError 502, not the 10-minute download bound', async () => {
    const email = 'tool-read@example.com';
    const user = await signIn(app.sut, app.world, email);
    const fileId = app.world.google.itemIds('drive', email)[2];
    const since = Date.now();
    app.proxy.inject({ ...MEDIA, fault: 'stall', times: Infinity });
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_drive_file_content', arguments: { fileId } } };
    const res = await rawMcp(`${app.sut.url}/mcp`, user.access_token, call, '2025-11-25', AbortSignal.timeout(CLIENT_PATIENCE_MS));
    expect(Date.now() - since).toBeLessThan(GOOGLE_HTTP_TIMEOUT_MS + MARGIN_MS);
    expect(res.json.result.isError).toBe(true);
    expect(JSON.parse(res.json.result.content[0].text)).toMatchObject({ statusCode: 502, error: 'google_unavailable' });
    expectCancelledInTime(await closedByService(MEDIA.method, MEDIA.path, since));
  });

  /** A user's Drive file downloaded through the REST route while `fault` applies to Google's media answer. */
  const downloadWhile = (email: string, fault: Omit<FaultRule, keyof typeof MEDIA>) => downloadDriveFileWhile(app, email, 2, MEDIA, fault, CLIENT_PATIENCE_MS);

  it('a REST Drive download whose answer stops mid-body: cut after GOOGLE_HTTP_TIMEOUT_MS of silence, not the 10-minute bound', async () => {
    const { res, since } = await downloadWhile('rest-download-mid-body@example.com', { fault: 'stall-body', body: 'the first bytes of the file', contentType: 'text/plain' });
    expect(res.status).toBe(200); // the answer had started: only cutting the connection can say it is incomplete
    const body = await res.text().then(
      () => 'complete',
      (err: Error) => err.name,
    );
    expect(body).not.toBe('complete');
    expect(body).not.toBe('TimeoutError'); // the service cut it, not this client's patience
    expect(Date.now() - since).toBeLessThan(GOOGLE_HTTP_TIMEOUT_MS + MARGIN_MS + 1000);
    const stalled = await closedByService(MEDIA.method, MEDIA.path, since);
    expect(stalled.length).toBeGreaterThan(0);
    for (const r of stalled) expect(r.clientClosedAt).toBeDefined(); // Google's connection was closed too
  });

  it('a REST Drive download whose answer never starts: 502 after GOOGLE_HTTP_TIMEOUT_MS, not the 10-minute download bound', async () => {
    const { res, since } = await downloadWhile('rest-download@example.com', { fault: 'stall' });
    expect(Date.now() - since).toBeLessThan(GOOGLE_HTTP_TIMEOUT_MS + MARGIN_MS);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable', message: expect.stringMatching(/Google/) });
    expectCancelledInTime(await closedByService(MEDIA.method, MEDIA.path, since));
  });

  it('a token refresh', async () => {
    const user = await signIn(app.sut, app.world, 'refresh@example.com');
    app.world.google.expireAccessTokens('refresh@example.com');
    const since = Date.now();
    app.proxy.inject({ method: 'POST', path: '/token', fault: 'stall', times: Infinity });
    const res = await getWithBearer(app.sut, '/v1/users/me/drive/files', user.access_token);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable' });
    expectCancelledInTime(await closedByService('POST', '/token', since));
  });

  it('a revocation at Google (then the revocation can be finished)', async () => {
    const user = await signIn(app.sut, app.world, 'revoke@example.com');
    const since = Date.now();
    const stall = app.proxy.inject({ method: 'POST', path: '/revoke', fault: 'stall', times: Infinity });
    const res = await fetch(`${app.sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${user.access_token}` } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'revocation_incomplete', message: expect.stringMatching(/Google/) });
    expectCancelledInTime(await closedByService('POST', '/revoke', since));
    stall.remove();
    const again = await fetch(`${app.sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${user.access_token}` } });
    expect(again.status).toBe(200);
  });
});
