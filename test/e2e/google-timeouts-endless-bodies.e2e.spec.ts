import { downloadDriveFileWhile, useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import type { FaultRule, ProxiedRequest } from '../support/fault-proxy.js';
import { signIn } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';
import { UserCallLimit } from '../../src/workspace/user-call-limit.js';

const GOOGLE_HTTP_TIMEOUT_MS = 1000;
/** The REST download's bound in all (DRIVE_DOWNLOAD_TIMEOUT_MS, 10 minutes by default), low for the test. */
const DRIVE_DOWNLOAD_TIMEOUT_MS = 3000;
const MARGIN_MS = 1500;
/** Drive's media download of one file (`alt=media`). */
const MEDIA = { method: 'GET', path: /^\/drive\/v3\/files\/[^/]+$/, query: /alt=media/ };
/** Drive's export of a Google Docs file. */
const EXPORT = { method: 'GET', path: /^\/drive\/v3\/files\/[^/]+\/export$/ };
const CLIENT_PATIENCE_MS = 8000;
/** A 200 whose body never ends, one small chunk every 100 ms: never silent for GOOGLE_HTTP_TIMEOUT_MS. */
const TRICKLE: Omit<FaultRule, 'method' | 'path' | 'query'> = { fault: 'answer', status: 200, contentType: 'text/plain', body: 'more bytes ', repeat: Infinity, everyMs: 100 };
/** A 200 that sends its first bytes, then nothing, and never ends. */
const STALLED: Omit<FaultRule, 'method' | 'path' | 'query'> = { fault: 'stall-body', body: 'the first bytes', contentType: 'text/plain' };

describe('A successful Google answer whose body never ends', () => {
  const app = useAppBehindGoogleProxy({ GOOGLE_HTTP_TIMEOUT_MS: String(GOOGLE_HTTP_TIMEOUT_MS), DRIVE_DOWNLOAD_TIMEOUT_MS: String(DRIVE_DOWNLOAD_TIMEOUT_MS) });

  async function closedByService(match: { method: string; path: RegExp }, since: number): Promise<ProxiedRequest[]> {
    const faulted = () => app.proxy.seen(match.method, match.path).filter((r) => r.at >= since && r.fault !== undefined);
    for (let i = 0; i < 40 && !(faulted().length > 0 && faulted().every((r) => r.clientClosedAt !== undefined)); i++) await new Promise((r) => setTimeout(r, 100));
    return faulted();
  }

  it.each([
    ['a file that trickles', 2, MEDIA, TRICKLE],
    ['a file that stops', 2, MEDIA, STALLED],
    ['a Doc export that trickles', 0, EXPORT, TRICKLE],
    ['a 403 whose error body trickles', 2, MEDIA, { ...TRICKLE, status: 403 }],
  ] as const)('MCP get_drive_file_content, %s', async (what, index, match, fault) => {
    const email = `tool-${what.replace(/\W+/g, '-')}@example.com`;
    const user = await signIn(app.sut, app.world, email);
    const fileId = app.world.google.itemIds('drive', email)[index];
    const since = Date.now();
    app.proxy.inject({ ...match, ...fault, times: Infinity });
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_drive_file_content', arguments: { fileId } } };
    const res = await rawMcp(`${app.sut.url}/mcp`, user.access_token, call, '2025-11-25', AbortSignal.timeout(CLIENT_PATIENCE_MS));
    const answeredAt = Date.now();
    expect(res.json.result.isError).toBe(true);
    expect(JSON.parse(res.json.result.content[0].text)).toMatchObject({ statusCode: 502, error: 'google_unavailable' });
    const seen = await closedByService(match, since);
    // One request to Google, cut at its deadline: not retried as if Google had reset the connection.
    expect(seen.map((r) => r.clientClosedAt !== undefined)).toEqual([true]);
    expect(answeredAt - seen[0].at).toBeLessThan(GOOGLE_HTTP_TIMEOUT_MS + MARGIN_MS);
    expect((seen[0].clientClosedAt as number) - seen[0].at).toBeGreaterThanOrEqual(GOOGLE_HTTP_TIMEOUT_MS - 100);
    expect(app.sut.app.get(UserCallLimit).count(email)).toBe(0);
  });

  /** The user's slots on the replica once the download's stream is gone (its close releases the slot). */
  async function slotsHeld(email: string): Promise<number> {
    const limit = app.sut.app.get(UserCallLimit);
    for (let i = 0; i < 20 && limit.count(email) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    return limit.count(email);
  }

  /** A user's Drive file downloaded through the REST route while `fault` applies to Google's content answer. */
  async function downloadWhile(what: string, index: number, match: typeof MEDIA | typeof EXPORT, fault: Omit<FaultRule, 'method' | 'path' | 'query'>) {
    const email = `rest-${what.replace(/\W+/g, '-')}@example.com`;
    return { ...(await downloadDriveFileWhile(app, email, index, match, fault, CLIENT_PATIENCE_MS)), email };
  }

  it.each([
    ['a file that trickles', 2, MEDIA],
    ['a Doc export that trickles', 0, EXPORT],
  ] as const)('REST download, %s: cut at DRIVE_DOWNLOAD_TIMEOUT_MS, Google\'s connection closed, the call slot given back', async (what, index, match) => {
    const { res, since, email } = await downloadWhile(what, index, match, TRICKLE);
    expect(res.status).toBe(200); // the answer had started: only cutting the connection can say it is incomplete
    const read = await res.text().then(
      () => 'complete',
      (err: Error) => err.name,
    );
    const cutAt = Date.now();
    expect(read).not.toBe('complete');
    expect(read).not.toBe('TimeoutError'); // the service cut it, not this client's patience
    const seen = await closedByService(match, since);
    expect(seen.map((r) => r.clientClosedAt !== undefined)).toEqual([true]);
    // Never silent for GOOGLE_HTTP_TIMEOUT_MS, so only the download's bound in all cuts it.
    const heldMs = (seen[0].clientClosedAt as number) - seen[0].at;
    expect(heldMs).toBeGreaterThanOrEqual(DRIVE_DOWNLOAD_TIMEOUT_MS - 100);
    expect(heldMs).toBeLessThan(DRIVE_DOWNLOAD_TIMEOUT_MS + MARGIN_MS);
    expect(cutAt - seen[0].at).toBeLessThan(DRIVE_DOWNLOAD_TIMEOUT_MS + MARGIN_MS);
    expect(await slotsHeld(email)).toBe(0);
  });

  it('REST download of a file that stops after its first bytes: cut after GOOGLE_HTTP_TIMEOUT_MS of silence, the call slot given back', async () => {
    const { res, since, email } = await downloadWhile('a file that stops', 2, MEDIA, STALLED);
    expect(res.status).toBe(200);
    const read = await res.text().then(
      () => 'complete',
      (err: Error) => err.name,
    );
    expect([read === 'complete', read === 'TimeoutError']).toEqual([false, false]);
    const seen = await closedByService(MEDIA, since);
    expect(seen.map((r) => r.clientClosedAt !== undefined)).toEqual([true]);
    expect((seen[0].clientClosedAt as number) - seen[0].at).toBeLessThan(GOOGLE_HTTP_TIMEOUT_MS + MARGIN_MS);
    expect(await slotsHeld(email)).toBe(0);
  });

  it('REST download answered 403 with an error body that trickles: 502 JSON after GOOGLE_HTTP_TIMEOUT_MS, before any byte was sent', async () => {
    const { res, since, email } = await downloadWhile('a 403 that trickles', 2, MEDIA, { ...TRICKLE, status: 403 });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable', message: expect.stringMatching(/Google/) });
    const seen = await closedByService(MEDIA, since);
    expect(seen.map((r) => r.clientClosedAt !== undefined)).toEqual([true]);
    expect((seen[0].clientClosedAt as number) - seen[0].at).toBeLessThan(GOOGLE_HTTP_TIMEOUT_MS + MARGIN_MS);
    expect(await slotsHeld(email)).toBe(0);
  });

  it.each([
    ['longer', 'bytes past the size Drive gave: '.repeat(20)],
    ['shorter', 'short'],
  ])('REST download whose bytes are %s than the size in its metadata (the file changed in between): every byte Google sent, then the end', async (what, body) => {
    const { res, email } = await downloadWhile(`a file ${what} than its size`, 2, MEDIA, { fault: 'answer', status: 200, contentType: 'text/plain', body, repeat: 1 });
    expect(res.status).toBe(200);
    // A Content-Length taken from the metadata cut the longer file off there (and wrote the rest onto the
    // connection, past the answer) and left a client of the shorter one waiting for bytes that never came.
    expect(res.headers.get('content-length')).toBeNull();
    expect(await res.text()).toBe(body);
    expect(await slotsHeld(email)).toBe(0);
  });
});
