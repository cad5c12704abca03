import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { downloadDriveFileWhile, useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import type { FaultRule, ProxiedRequest } from '../support/fault-proxy.js';
import { signIn } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';

/** Drive's media download of one file (`alt=media`), the request a file's content comes from. */
const MEDIA = { method: 'GET', path: /^\/drive\/v3\/files\/[^/]+$/, query: /alt=media/ };
/** One chunk of a huge error body: 64 KiB of HTML, what a portal or a proxy's error page could send. */
const CHUNK = '<p>' + 'x'.repeat(64 * 1024 - 7) + '</p>';
/** 200 MB of it: far past the bound on error bodies (64 KiB), and more than a replica's heap could hold twice. */
const HUGE_REPEAT = 3200;
/** How long a test waits for an answer: the harness gives Google calls 10 s, which an unbounded read would run into. */
const CLIENT_PATIENCE_MS = 20_000;

/** Google's JSON error, as the Drive API sends it (small: a few hundred bytes). */
function googleError(code: number, reason: string): string {
  return JSON.stringify({ error: { code, message: `The request failed: ${reason}.`, errors: [{ domain: 'usageLimits', reason, message: reason }], status: 'PERMISSION_DENIED' } });
}

/**
 * A streamed Drive download (the REST route, and the MCP tool's bounded read: both read Google's answer as a stream)
 * answered with an error status reads that error's body whole to find Google's reason. A body of hundreds of megabytes
 * (a proxy's error page, a captive portal) must not be buffered: past a small bound the read stops, the connection is
 * closed, and the caller gets the usual mapped error at once.
 */
describe('Streamed Drive downloads answered with a huge error body', () => {
  const app = useAppBehindGoogleProxy({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES });

  /** A user's Drive file downloaded through the REST route while Google's media answer is `fault`; timed. */
  async function downloadWhile(email: string, fault: Omit<FaultRule, keyof typeof MEDIA>) {
    const { res, since, user, fileId } = await downloadDriveFileWhile(app, email, 2, MEDIA, fault, CLIENT_PATIENCE_MS);
    const body = (await res.json()) as { error?: string; message?: string };
    return { status: res.status, body, ms: Date.now() - since, user, fileId, since };
  }

  /** The media answers with `fault` since `since`, once the service has closed each (waiting up to 2 s for it). */
  async function faulted(since: number): Promise<ProxiedRequest[]> {
    const answered = () => app.proxy.seen(MEDIA.method, MEDIA.path).filter((r) => r.at >= since && r.fault === 'answer');
    for (let i = 0; i < 100 && !answered().every((r) => r.clientClosedAt !== undefined); i++) await new Promise((r) => setTimeout(r, 20));
    return answered();
  }

  it('a 403 with 200 MB of body: 403 forbidden at once, the connection closed long before the body was sent', async () => {
    const { status, body, ms, since } = await downloadWhile('huge-403@example.com', { fault: 'answer', status: 403, contentType: 'text/html', body: CHUNK, repeat: HUGE_REPEAT });
    expect([status, body.error]).toEqual([403, 'forbidden']);
    expect(body.message).toMatch(/Google does not allow this Drive request/);
    expect(ms).toBeLessThan(2000);
    const seen = await faulted(since);
    expect(seen).toHaveLength(1);
    // Closed by the service before the proxy had written the whole body (writableFinished false): it was not read on.
    expect(seen[0].clientClosedAt).toEqual(expect.any(Number));
    // What was written before the close: the bound, plus what the sockets on both sides buffer; not the 200 MB.
    expect(seen[0].bodyBytesSent).toBeLessThan(16 * 1024 * 1024);
  });

  it('a 500 whose body never ends: retried as any 5xx, then 502 google_unavailable, each connection closed', async () => {
    const { status, body, ms, since } = await downloadWhile('endless-500@example.com', { fault: 'answer', status: 500, contentType: 'text/html', body: CHUNK, repeat: Infinity });
    expect([status, body.error]).toEqual([502, 'google_unavailable']);
    expect(body.message).toMatch(/\(500\)/);
    expect(ms).toBeLessThan(5000); // three attempts and their backoff, far from the 10 s deadline of each
    const seen = await faulted(since);
    expect(seen).toHaveLength(3);
    for (const r of seen) expect([r.clientClosedAt, (r.bodyBytesSent as number) < 16 * 1024 * 1024]).toEqual([expect.any(Number), true]);
  });

  it('the MCP tool get_drive_file_content: an isError 403 at once, the connection closed', async () => {
    const email = 'huge-403-tool@example.com';
    const user = await signIn(app.sut, app.world, email);
    const fileId = app.world.google.itemIds('drive', email)[2];
    const since = Date.now();
    app.proxy.inject({ ...MEDIA, fault: 'answer', status: 403, contentType: 'text/html', body: CHUNK, repeat: Infinity, times: Infinity });
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_drive_file_content', arguments: { fileId } } };
    const res = await rawMcp(`${app.sut.url}/mcp`, user.access_token, call, '2025-11-25', AbortSignal.timeout(CLIENT_PATIENCE_MS));
    expect(Date.now() - since).toBeLessThan(2000);
    expect(res.json.result.isError).toBe(true);
    expect(JSON.parse(res.json.result.content[0].text)).toMatchObject({ statusCode: 403, error: 'forbidden' });
    const seen = await faulted(since);
    expect(seen).toHaveLength(1);
    expect([seen[0].clientClosedAt, (seen[0].bodyBytesSent as number) < 16 * 1024 * 1024]).toEqual([expect.any(Number), true]);
  });

  it.each([
    ['insufficientPermissions', 403, { statusCode: 403, error: 'insufficient_scope' }],
    ['rateLimitExceeded', 403, { statusCode: 429, error: 'rate_limited' }],
  ])("Google's own small JSON error (%s) keeps its reason, and the download works again after it", async (reason, code, expected) => {
    const email = `small-${reason.toLowerCase()}@example.com`;
    const { status, body, user, fileId } = await downloadWhile(email, { fault: 'answer', status: code, contentType: 'application/json; charset=UTF-8', body: googleError(code, reason) });
    expect({ statusCode: status, error: body.error }).toEqual(expected);
    app.proxy.clear();
    const again = await fetch(`${app.sut.url}/v1/users/me/drive/files/${fileId}/content`, { headers: { authorization: `Bearer ${user.access_token}` } });
    expect(again.status).toBe(200);
    expect((await again.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });
});
