import { createHash } from 'node:crypto';
import { useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import { collectGarbage } from '../support/collect-garbage.js';
import { DownloadCaller } from '../support/download-caller.js';
import type { FaultHandle, FaultRule, ProxiedRequest } from '../support/fault-proxy.js';
import { googleThrough, readObject, signIn, startService, type Service, type SignedIn } from '../support/harness.js';
import { UserCallLimit } from '../../src/workspace/user-call-limit.js';

const GOOGLE_HTTP_TIMEOUT_MS = 1000;
/**
 * The slow reader below pauses GOOGLE_HTTP_TIMEOUT_MS + 300 ms after at most 200 ms of reading: the send timeout's sweep
 * (every quarter of it) then has about a second to spare for a busy machine's late timers before it would cut a
 * caller that does keep reading.
 */
const HTTP_SEND_TIMEOUT_MS = 2500;
/** The download bound of the replica most tests use, low for the test (10 minutes by default). */
const DRIVE_DOWNLOAD_TIMEOUT_MS = 4000;
/** The other replica's: far past every test, so there nothing but the caller's side can end a download. */
const PATIENT_DOWNLOAD_TIMEOUT_MS = 60_000;
/** Timers, the send timeout's sweep (every quarter of its bound) and a busy machine. */
const MARGIN_MS = 1500;
/** How long a slow caller may take, once the service cut its download, to read what the sockets still held. */
const DRAIN_PATIENCE_MS = 15_000;
/** Drive's media download of one file (`alt=media`), the request a file's bytes come from. */
const MEDIA = { method: 'GET', path: /^\/drive\/v3\/files\/[^/]+$/, query: /alt=media/ };
/** One piece of Google's answer: a pattern whose length lines up with no buffer size, so a lost or doubled slice of it changes the digest. */
const CHUNK = Buffer.alloc(64 * 1024 - 13, 'abcdefghijklmnopqrstuvwxyz0123456789');
/** A 200 from Google that never ends, sent as fast as the service reads it. */
const ENDLESS: Omit<FaultRule, 'method' | 'path' | 'query'> = { fault: 'answer', status: 200, contentType: 'application/octet-stream', body: CHUNK, repeat: Infinity };
/** A large file (about 48 MiB), sent by Google as fast as the service reads it. */
const FILE_CHUNKS = 768;
const LARGE_FILE: Omit<FaultRule, 'method' | 'path' | 'query'> = { ...ENDLESS, repeat: FILE_CHUNKS };
const FILE_BYTES = CHUNK.length * FILE_CHUNKS;
const FILE_DIGEST = Array.from({ length: FILE_CHUNKS }).reduce((h: ReturnType<typeof createHash>) => h.update(CHUNK), createHash('sha256')).digest('hex');
/**
 * What may be on its way between Google and the caller at any moment: the loopback sockets' kernel buffers on both
 * hops (they grow with the reader's pace; about 9 MB measured here) and a few stream buffers of 16-64 KiB in the
 * service. Half the large file: a service that read Google ahead of its caller, or held the file, would exceed it
 * within the first pause (the proxy writes hundreds of MB a second to a reader that keeps up).
 */
const IN_FLIGHT_BOUND = 24 * 1024 * 1024;

/**
 * The REST download (GET /v1/users/{userId}/drive/files/{fileId}/content) from its caller's side: a Google that
 * never stops, callers that read slowly, stop reading or go away, and HEAD. Google's answer comes from the fault
 * proxy (it counts the bytes it managed to write, and sees its connection closed); the metadata, the sign-in and
 * the next call go to the emulator. WORKSPACE_CALLS_PER_USER is 1, so a call slot a download kept would make the
 * user's next call wait GOOGLE_HTTP_TIMEOUT_MS and be refused with 429.
 */
describe('Drive downloads and their callers', () => {
  const replica = (downloadMs: number) => ({
    GOOGLE_HTTP_TIMEOUT_MS: String(GOOGLE_HTTP_TIMEOUT_MS),
    HTTP_SEND_TIMEOUT_MS: String(HTTP_SEND_TIMEOUT_MS),
    DRIVE_DOWNLOAD_TIMEOUT_MS: String(downloadMs),
    WORKSPACE_CALLS_PER_USER: '1',
  });
  let patient: Service;
  afterAll(() => patient?.close()); // declared before the fixture: closed before the proxy and the world stop
  const app = useAppBehindGoogleProxy(replica(DRIVE_DOWNLOAD_TIMEOUT_MS));
  beforeAll(async () => {
    patient = await startService(app.world, { ...googleThrough(app.world, app.proxy), ...replica(PATIENT_DOWNLOAD_TIMEOUT_MS) });
  });

  interface Download {
    caller: DownloadCaller;
    user: SignedIn;
    email: string;
    /** Google's (the proxy's) side of this download's content request. */
    google: () => ProxiedRequest;
    /** Every content request Google got for this download (a retry would be one more). */
    googleRequests: () => ProxiedRequest[];
    /** The fault on Google's content answers, for every such request until removed. */
    fault: FaultHandle;
  }

  /** Signs `email` in on `sut` and starts downloading their text file while Google's content answer is `fault`; nothing is read yet. */
  async function startDownload(sut: Service, email: string, fault: Omit<FaultRule, 'method' | 'path' | 'query'>): Promise<Download> {
    const user = await signIn(sut, app.world, email);
    const fileId = app.world.google.itemIds('drive', email)[2];
    const since = Date.now();
    const handle = app.proxy.inject({ ...MEDIA, ...fault, times: Infinity });
    const caller = await DownloadCaller.open(`${sut.url}/v1/users/me/drive/files/${fileId}/content`, user.access_token);
    const googleRequests = () => app.proxy.seen(MEDIA.method, MEDIA.path).filter((r) => r.at >= since && r.fault === fault.fault);
    return { caller, user, email, googleRequests, google: () => googleRequests()[0], fault: handle };
  }

  async function waitFor(done: () => boolean, ms: number): Promise<void> {
    for (const until = Date.now() + ms; !done() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
  }

  /** When the service closed its connection to Google (Date.now()), waiting up to `ms` for it. */
  async function googleClosedAt(d: Download, ms: number): Promise<number | undefined> {
    await waitFor(() => d.google().clientClosedAt !== undefined, ms);
    return d.google().clientClosedAt;
  }

  /** The user's slots still held on `sut`, once the download's stream is gone (its close gives the slot back). */
  async function slotsHeld(sut: Service, email: string): Promise<number> {
    const limit = sut.app.get(UserCallLimit);
    await waitFor(() => limit.count(email) === 0, 1000);
    return limit.count(email);
  }

  /** The same user's next download, Google answering normally again: its status and whether it brought the file's bytes. */
  async function nextDownload(sut: Service, d: Download) {
    d.fault.remove();
    const fileId = app.world.google.itemIds('drive', d.email)[2];
    const res = await fetch(`${sut.url}/v1/users/me/drive/files/${fileId}/content`, { headers: { authorization: `Bearer ${d.user.access_token}` } });
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, whole: bytes.equals(app.world.google.driveFile(d.email, fileId)?.bytes as Buffer) };
  }

  /** The service's log line about this download having been cut (found by its request id) and its level, waiting up to a second for it. */
  async function cutLine(d: Download): Promise<Record<string, unknown> | undefined> {
    const reqId = d.caller.res.headers['x-request-id'];
    const isCut = (m: unknown) => typeof m === 'object' && m !== null && (m as { event?: unknown }).event === 'drive_download_cut' && (m as { reqId?: unknown }).reqId === reqId;
    const line = () => app.world.logs.lines.find((l) => isCut(l.message));
    await waitFor(() => line() !== undefined, 1000);
    const found = line();
    return found && { ...(found.message as Record<string, unknown>), level: found.level };
  }

  /**
   * Runs `read` (a reading of `d` that ends with the answer). The service must have cut the download by `ms`: its
   * connection to Google closed. If not, the caller gives up, disconnected, and this is true (the service never cut
   * it). Once it has, the caller reads on at its own pace to the answer's end, which comes after what the sockets held
   * at the cut (megabytes, which a slow reader on a busy machine takes seconds to drain: a CI run at load average 10
   * took more than 4.5 s), so the caller's end is no measure of when the service cut; only DRAIN_PATIENCE_MS bounds it.
   */
  async function gaveUpOn(d: Download, ms: number, read: () => Promise<unknown>): Promise<boolean> {
    let gaveUp = false;
    const giveUp = () => {
      gaveUp = true;
      d.caller.disconnect();
    };
    let patience = setTimeout(() => {
      if (d.google().clientClosedAt === undefined) return giveUp();
      patience = setTimeout(giveUp, DRAIN_PATIENCE_MS);
    }, ms);
    await read();
    clearTimeout(patience);
    return gaveUp;
  }

  /** The user's secrets: the bearer, and the Google tokens the service holds for them. */
  async function secretsOf(d: Download): Promise<string[]> {
    const { json } = await readObject(app.world, `credentials/${d.email}.json`);
    return [d.user.access_token, json.token as string, json.refresh_token as string];
  }

  it('Google sends a file fast and never ends: the answer is cut at DRIVE_DOWNLOAD_TIMEOUT_MS, without its chunked terminator; one request to Google, closed; Google read no faster than the caller; the slot given back', async () => {
    const d = await startDownload(app.sut, 'endless-fast@example.com', ENDLESS);
    expect(d.caller.res.statusCode).toBe(200);
    // No length to fall short of: the only way to say "incomplete" is the chunked framing's missing end.
    expect([d.caller.res.headers['transfer-encoding'], d.caller.res.headers['content-length']]).toEqual(['chunked', undefined]);
    // A caller far slower than Google: reads a tenth of the time. Garbage is collected in its pauses, as it would
    // be many times over a real download's minutes: the deadline must not be something the collector can take.
    const read = () => d.caller.readSlowly({ bite: 64 * 1024, readMs: 20, pauseMs: 180, onPause: (phase) => phase === 'start' && collectGarbage() });
    expect(await gaveUpOn(d, DRIVE_DOWNLOAD_TIMEOUT_MS + 3 * MARGIN_MS, read)).toBe(false);
    const end = await d.caller.ended;
    const google = d.google();
    expect(end).toBe('broken'); // node:http saw the connection end before the terminating chunk
    expect(d.caller.connectionEnd).toBe('closed'); // a FIN after every byte already sent, not a reset
    // Cut at the deadline: Google's side closed then (the caller's end comes later, after the sockets' bytes).
    expect((d.caller.endedAt as number) - google.at).toBeGreaterThanOrEqual(DRIVE_DOWNLOAD_TIMEOUT_MS - 100);
    const closedAt = await googleClosedAt(d, MARGIN_MS);
    expect((closedAt as number) - google.at).toBeGreaterThanOrEqual(DRIVE_DOWNLOAD_TIMEOUT_MS - 100);
    expect((closedAt as number) - google.at).toBeLessThan(DRIVE_DOWNLOAD_TIMEOUT_MS + MARGIN_MS);
    expect(d.googleRequests()).toHaveLength(1); // not retried as if Google had reset the connection
    // Backpressure: what Google managed to write is what the caller read, plus what the sockets hold.
    expect(d.caller.received).toBeGreaterThan(0);
    expect((google.bodyBytesSent as number) - d.caller.received).toBeLessThan(IN_FLIGHT_BOUND);
    expect(await slotsHeld(app.sut, d.email)).toBe(0);
    expect(await nextDownload(app.sut, d)).toEqual({ status: 200, whole: true });
    expect(await cutLine(d)).toMatchObject({ reason: 'download_deadline', level: 'warn' });
  });

  it('a very slow caller, pausing longer than GOOGLE_HTTP_TIMEOUT_MS and shorter than HTTP_SEND_TIMEOUT_MS, gets the whole file byte for byte; while it pauses Google is not read', async () => {
    const d = await startDownload(patient, 'slow-reader@example.com', LARGE_FILE);
    const pauses: Array<{ written: number; later?: number; read: number }> = [];
    const written = () => d.google().bodyBytesSent as number;
    const end = await d.caller.readSlowly({
      bite: 16 * 1024,
      // A quarter of the file at most per spell, so that it pauses at least three times however fast the machine.
      spellBytes: FILE_BYTES / 4,
      readMs: 200,
      pauseMs: GOOGLE_HTTP_TIMEOUT_MS + 300,
      // Sampled 300 ms into the pause (the sockets have filled by then) and at its end.
      onPause: (phase) => {
        if (phase === 'start') setTimeout(() => pauses.push({ written: written(), read: d.caller.received }), 300);
        else if (pauses.length > 0) pauses[pauses.length - 1].later ??= written();
      },
    });
    expect(end).toBe('complete');
    expect(d.caller.received).toBe(FILE_BYTES);
    expect(d.caller.digest()).toBe(FILE_DIGEST);
    expect(pauses.length).toBeGreaterThanOrEqual(3);
    for (const p of pauses) {
      expect(p.later).toBe(p.written); // nothing more was taken from Google while the caller paused
      expect(p.written - p.read).toBeLessThan(IN_FLIGHT_BOUND); // and the service held no more than the sockets do
    }
    expect(d.googleRequests()).toHaveLength(1);
    expect(await slotsHeld(patient, d.email)).toBe(0);
    expect(await cutLine(d)).toBeUndefined();
  });

  it('a caller too slow to take the file within DRIVE_DOWNLOAD_TIMEOUT_MS is cut there: the bound counts the time Google waits for the caller', async () => {
    const d = await startDownload(app.sut, 'too-slow@example.com', LARGE_FILE);
    const read = () => d.caller.readSlowly({ bite: 16 * 1024, readMs: 20, pauseMs: 480 });
    expect(await gaveUpOn(d, DRIVE_DOWNLOAD_TIMEOUT_MS + 3 * MARGIN_MS, read)).toBe(false);
    const end = await d.caller.ended;
    const google = d.google();
    expect(end).toBe('broken');
    expect(d.caller.received).toBeLessThan(FILE_BYTES);
    expect((d.caller.endedAt as number) - google.at).toBeGreaterThanOrEqual(DRIVE_DOWNLOAD_TIMEOUT_MS - 100);
    const closedAt = await googleClosedAt(d, MARGIN_MS);
    expect((closedAt as number) - google.at).toBeGreaterThanOrEqual(DRIVE_DOWNLOAD_TIMEOUT_MS - 100);
    expect((closedAt as number) - google.at).toBeLessThan(DRIVE_DOWNLOAD_TIMEOUT_MS + MARGIN_MS);
    expect(d.googleRequests()).toHaveLength(1);
    expect(await slotsHeld(app.sut, d.email)).toBe(0);
    expect(await cutLine(d)).toMatchObject({ reason: 'download_deadline' });
  });

  it('a caller that stops reading mid-download is cut after HTTP_SEND_TIMEOUT_MS, and Google\'s connection with it, long before the download\'s own bound', async () => {
    const d = await startDownload(patient, 'stops-reading@example.com', ENDLESS);
    await d.caller.readAtLeast(1024 * 1024);
    const stoppedAt = Date.now();
    const closedAt = await googleClosedAt(d, HTTP_SEND_TIMEOUT_MS + MARGIN_MS + 1000);
    expect(closedAt).toEqual(expect.any(Number));
    expect((closedAt as number) - stoppedAt).toBeGreaterThanOrEqual(HTTP_SEND_TIMEOUT_MS - 100);
    expect((closedAt as number) - stoppedAt).toBeLessThan(HTTP_SEND_TIMEOUT_MS + MARGIN_MS);
    expect(app.world.logs.events('closed connections whose client stopped reading its answer').length).toBeGreaterThan(0);
    // Reading again, the caller gets what the sockets still held, then the end of a broken answer.
    expect(await d.caller.readAll()).toBe('broken');
    expect((d.google().bodyBytesSent as number) - d.caller.received).toBeLessThan(IN_FLIGHT_BOUND);
    expect(await slotsHeld(patient, d.email)).toBe(0);
    expect(await nextDownload(patient, d)).toEqual({ status: 200, whole: true });
    expect(await cutLine(d)).toMatchObject({ reason: 'caller_closed' });
  });

  it('a caller that disconnects mid-download: Google\'s connection closed at once, the slot given back, one log line without secrets', async () => {
    const d = await startDownload(patient, 'goes-away@example.com', ENDLESS);
    await d.caller.readAtLeast(1024 * 1024);
    const goneAt = Date.now();
    d.caller.disconnect();
    const closedAt = await googleClosedAt(d, 2000);
    // At once: well under GOOGLE_HTTP_TIMEOUT_MS, the shortest bound that could otherwise have closed it.
    expect((closedAt as number) - goneAt).toBeLessThan(500);
    expect(await slotsHeld(patient, d.email)).toBe(0);
    expect(await nextDownload(patient, d)).toEqual({ status: 200, whole: true });
    const line = await cutLine(d);
    expect(line).toMatchObject({ reason: 'caller_closed', bytes: expect.any(Number), ms: expect.any(Number) });
    expect((line as { bytes: number }).bytes).toBeGreaterThanOrEqual(1024 * 1024);
    const text = JSON.stringify(line);
    for (const secret of await secretsOf(d)) expect(text).not.toContain(secret);
  });

  describe('HEAD of a file\'s content', () => {
    it.each([
      ['a PDF', 1],
      ['a text file', 2],
    ])('%s: HEAD\'s Content-Length is the number of bytes a GET right after delivers', async (_what, index) => {
      const email = `head-media-${index}@example.com`;
      const user = await signIn(app.sut, app.world, email);
      const url = `${app.sut.url}/v1/users/me/drive/files/${app.world.google.itemIds('drive', email)[index]}/content`;
      const head = await fetch(url, { method: 'HEAD', headers: { authorization: `Bearer ${user.access_token}` } });
      const get = await fetch(url, { headers: { authorization: `Bearer ${user.access_token}` } });
      const bytes = (await get.arrayBuffer()).byteLength;
      expect([head.status, get.status]).toEqual([200, 200]);
      expect(bytes).toBeGreaterThan(0);
      expect(head.headers.get('content-length')).toBe(String(bytes));
    });

    it('a Google Docs file (exported): HEAD sends no Content-Length, since the export\'s size is known only once made', async () => {
      const email = 'head-export@example.com';
      const user = await signIn(app.sut, app.world, email);
      const url = `${app.sut.url}/v1/users/me/drive/files/${app.world.google.itemIds('drive', email)[0]}/content`;
      const head = await fetch(url, { method: 'HEAD', headers: { authorization: `Bearer ${user.access_token}` } });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(head.headers.get('content-length')).toBeNull();
      const get = await fetch(url, { headers: { authorization: `Bearer ${user.access_token}` } });
      expect((await get.text()).length).toBeGreaterThan(0);
    });
  });
});
