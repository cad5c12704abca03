import { PassThrough, Readable } from 'node:stream';
import type { AppConfig } from '../config/app-config.js';
import { DependencyUnavailableError, DomainError } from '../common/domain-error.js';
import { ReauthRequiredError } from '../credentials/credentials.errors.js';
import { Metrics } from '../observability/metrics.js';
import { GoogleCaller } from './google-caller.js';
import { UserCallLimit } from './user-call-limit.js';

const LIMIT = 3;
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const GMAIL_READONLY = 'https://www.googleapis.com/auth/gmail.readonly';

/** A call held open until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/**
 * A GoogleCaller on in-memory fakes of what it uses: credentials (S3), the client cache, sessions, the audit trail
 * and the API libraries. Each fake can be told to fail the way the real one can.
 */
function world(limitPerUser = LIMIT, queued = 0, maxWaitMs = 10_000) {
  const faults = {
    s3: false,
    refresh: undefined as Error | undefined,
    forUserThrows: false,
    readyThrows: false,
    endAllFails: false,
  };
  const credentials = {
    getValid: async (email: string) => {
      if (faults.s3) throw new DependencyUnavailableError('S3 is unreachable (bucket test). Retry in a few seconds.');
      return { email, token: 'at-1', scopes: [GMAIL_READONLY] };
    },
    refreshRejected: async () => {
      if (faults.refresh) throw faults.refresh;
      return { token: 'at-2', scopes: [GMAIL_READONLY] };
    },
    refreshedHere: () => true,
  };
  const clients = {
    forUser: () => {
      if (faults.forUserThrows) throw new TypeError('client cache broke');
      return {};
    },
  };
  const sessions = {
    endAllForUser: async () => {
      if (faults.endAllFails) throw new DependencyUnavailableError('S3 is unreachable.');
    },
  };
  const audit = { record: () => undefined };
  const apis = {
    ready: () => {
      if (faults.readyThrows) throw new Error('library failed to load');
      return undefined;
    },
  };
  const config = { values: { workspace: { callsPerUser: limitPerUser, callsQueuedPerUser: queued }, google: { httpTimeoutMs: maxWaitMs } } } as AppConfig;
  const metrics = new Metrics();
  const limit = new UserCallLimit(config, metrics);
  const caller = new GoogleCaller(credentials as never, clients as never, sessions as never, metrics, audit as never, apis as never, limit);
  const call = <T>(email: string, fn: () => Promise<T>, opts = {}) => caller.call(email, 'Gmail', 'gmailRead', fn, opts);
  return { caller, limit, metrics, faults, call };
}

/** Puts `n` calls of `email` in flight and holds them; `release()` lets them answer and waits for them. */
async function hold(call: ReturnType<typeof world>['call'], email: string, n: number) {
  const g = gate();
  const calls = Array.from({ length: n }, () => call(email, async () => (await g.opened, 'ok')));
  await new Promise((r) => setImmediate(r)); // each call has taken its slot and is waiting on "Google"
  return {
    calls,
    release: async () => {
      g.open();
      return Promise.all(calls);
    },
  };
}

const googleError = (status: number) => Object.assign(new Error(`Google says ${status}`), { response: { status, data: {} } });

describe('UserCallLimit at GoogleCaller.call', () => {
  it('with no queue (WORKSPACE_CALLS_QUEUED_PER_USER=0), refuses the call beyond the limit at once with a 429 that says what to do', async () => {
    const { call, limit } = world();
    const held = await hold(call, ALICE, LIMIT);
    expect(limit.count(ALICE)).toBe(LIMIT);
    let reached = false;
    const refused = await call(ALICE, async () => ((reached = true), 'ok')).catch((e: unknown) => e);
    expect(reached).toBe(false);
    expect(refused).toBeInstanceOf(DomainError);
    const err = refused as DomainError;
    expect(err.status).toBe(429);
    expect(err.error).toBe('too_many_requests');
    expect(err.headers).toEqual({ 'Retry-After': '1' });
    expect(err.message).toContain(`already has ${LIMIT} Google Workspace calls running on this server and 0 more waiting`);
    expect(err.message).toMatch(/Retry after 1 s, and keep at most 3 calls in flight/);
    expect(await held.release()).toEqual(Array(LIMIT).fill('ok'));
  });

  it("keeps users apart: Bob's calls go through while Alice is at her limit", async () => {
    const { call } = world();
    const held = await hold(call, ALICE, LIMIT);
    await expect(call(BOB, async () => 'bob')).resolves.toBe('bob');
    const bob = await hold(call, BOB, LIMIT);
    await Promise.all([held.release(), bob.release()]);
  });

  it('counts refusals in broker_workspace_calls_refused_total by API, with no user in the labels', async () => {
    const { call, metrics } = world();
    const held = await hold(call, ALICE, LIMIT);
    await call(ALICE, async () => 'x').catch(() => undefined);
    await call(ALICE, async () => 'x').catch(() => undefined);
    await held.release();
    const text = await metrics.registry.getSingleMetricAsString('broker_workspace_calls_refused_total');
    expect(text).toContain('broker_workspace_calls_refused_total{api="gmail",reason="queue_full"} 2');
    expect(text).not.toContain('@');
  });

  it('forgets a user whose calls have all ended: the map holds only users with calls in flight', async () => {
    const { call, limit } = world();
    for (let i = 0; i < 200; i++) await call(`user-${i}@example.com`, async () => 'ok');
    await call(ALICE, async () => {
      throw googleError(404);
    }).catch(() => undefined);
    expect(limit.userCount).toBe(0);
    const held = await hold(call, ALICE, 2);
    expect(limit.userCount).toBe(1);
    await held.release();
    expect(limit.userCount).toBe(0);
  });

  // Each way a call can end; a slot any of them kept would lock the user out for good once LIMIT had leaked.
  const endings: Array<[string, (w: ReturnType<typeof world>) => Promise<unknown>, number | undefined]> = [
    ['success', (w) => w.call(ALICE, async () => 'ok'), undefined],
    ['Google answers 404', (w) => w.call(ALICE, async () => Promise.reject(googleError(404))), 404],
    ['Google answers 500 (retried, then 502)', (w) => w.call(ALICE, async () => Promise.reject(googleError(500)), { idempotent: false }), 502],
    ["Google's 429", (w) => w.call(ALICE, async () => Promise.reject(googleError(429))), 429],
    ['S3 unreachable while reading the credentials', (w) => ((w.faults.s3 = true), w.call(ALICE, async () => 'ok')), 503],
    [
      'timeout (no answer within GOOGLE_HTTP_TIMEOUT_MS)',
      (w) => w.call(ALICE, async () => Promise.reject(Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' }))),
      502,
    ],
    ['a refresh that fails (S3 down)', (w) => ((w.faults.refresh = new DependencyUnavailableError('S3 is unreachable.')), w.call(ALICE, async () => Promise.reject(googleError(401)))), 503],
    [
      'a refresh Google refuses (grant gone), and ending the sessions fails too',
      (w) => ((w.faults.refresh = new ReauthRequiredError('Google refused the refresh token.', new Date())), (w.faults.endAllFails = true), w.call(ALICE, async () => Promise.reject(googleError(401)))),
      503,
    ],
    ['401 after every refresh (reauth_required)', (w) => w.call(ALICE, async () => Promise.reject(googleError(401))), 401],
    [
      'an exception thrown synchronously by the call',
      (w) =>
        w.call(ALICE, (() => {
          throw new TypeError("Cannot read properties of undefined (reading 'data')");
        }) as () => Promise<string>),
      502,
    ],
    ['an exception thrown synchronously by the client cache', (w) => ((w.faults.forUserThrows = true), w.call(ALICE, async () => 'ok')), 502],
    ['an exception thrown synchronously while loading the API library', (w) => ((w.faults.readyThrows = true), w.call(ALICE, async () => 'ok')), 500],
    ['a change that fails (audited)', (w) => w.call(ALICE, async () => Promise.reject(googleError(404)), { action: 'gmail.message.send', idempotent: false }), 404],
  ];

  it.each(endings)('gives the slot back after %s: the user can still have LIMIT calls in flight', async (_what, end, status) => {
    const w = world();
    for (let i = 0; i < LIMIT + 1; i++) {
      const outcome = await end(w).then(
        () => undefined,
        (e: unknown) => (e instanceof DomainError ? e.status : 500),
      );
      expect(outcome).toBe(status);
    }
    Object.assign(w.faults, { s3: false, refresh: undefined, forUserThrows: false, readyThrows: false, endAllFails: false });
    expect(w.limit.count(ALICE)).toBe(0);
    expect(w.limit.userCount).toBe(0);
    const held = await hold(w.call, ALICE, LIMIT);
    await expect(w.call(ALICE, async () => 'one too many')).rejects.toMatchObject({ status: 429 });
    expect(await held.release()).toEqual(Array(LIMIT).fill('ok'));
  });

  it('a refused call gives back no slot it did not take', async () => {
    const { call, limit } = world();
    const held = await hold(call, ALICE, LIMIT);
    for (let i = 0; i < 5; i++) await call(ALICE, async () => 'x').catch(() => undefined);
    expect(limit.count(ALICE)).toBe(LIMIT);
    await held.release();
    expect(limit.count(ALICE)).toBe(0);
    const again = await hold(call, ALICE, LIMIT);
    await expect(call(ALICE, async () => 'x')).rejects.toMatchObject({ status: 429 });
    await again.release();
  });

  it('allows a limit of 1', async () => {
    const { call } = world(1);
    const held = await hold(call, ALICE, 1);
    await expect(call(ALICE, async () => 'x')).rejects.toMatchObject({ status: 429 });
    await held.release();
    await expect(call(ALICE, async () => 'x')).resolves.toBe('x');
  });
});

describe('UserCallLimit.runStreaming: a slot held while an answer streams', () => {
  const limitOf = (n: number) => new UserCallLimit({ values: { workspace: { callsPerUser: n, callsQueuedPerUser: 0 }, google: { httpTimeoutMs: 10_000 } } } as AppConfig, new Metrics());

  it('holds the slot after fn returned, until the stream closes', async () => {
    const limit = limitOf(1);
    const body = new PassThrough();
    await limit.runStreaming(ALICE, 'Drive', async () => body, (b) => b, 60_000);
    expect(limit.count(ALICE)).toBe(1);
    await expect(limit.run(ALICE, 'Drive', async () => 'x')).rejects.toMatchObject({ status: 429 });
    body.destroy();
    await new Promise((r) => setImmediate(r));
    expect(limit.count(ALICE)).toBe(0);
    expect(limit.userCount).toBe(0);
  });

  it('frees it when the stream ends normally', async () => {
    const limit = limitOf(1);
    const body = Readable.from(['a', 'b']);
    await limit.runStreaming(ALICE, 'Drive', async () => body, (b) => b, 60_000);
    for await (const chunk of body) void chunk;
    await new Promise((r) => setImmediate(r));
    expect(limit.count(ALICE)).toBe(0);
  });

  it('frees it after maxHoldMs when the stream never closes', async () => {
    const limit = limitOf(1);
    await limit.runStreaming(ALICE, 'Drive', async () => new PassThrough(), (b) => b, 50);
    expect(limit.count(ALICE)).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    expect(limit.count(ALICE)).toBe(0);
  });

  it.each([
    ['fn fails', async () => Promise.reject(new Error('Google failed')), (b: Readable) => b],
    ['fn throws synchronously', (() => { throw new Error('sync'); }) as () => Promise<Readable>, (b: Readable) => b],
    ['picking the stream throws', async () => new PassThrough(), () => { throw new TypeError('no data'); }],
  ])('frees it at once when %s', async (_what, fn, streamOf) => {
    const limit = limitOf(1);
    await expect(limit.runStreaming(ALICE, 'Drive', fn, streamOf, 60_000)).rejects.toThrow();
    expect(limit.count(ALICE)).toBe(0);
  });

  it('frees it at once when the stream is already closed', async () => {
    const limit = limitOf(1);
    const body = new PassThrough();
    body.destroy();
    await new Promise((r) => setImmediate(r));
    await limit.runStreaming(ALICE, 'Drive', async () => body, (b) => b, 60_000);
    expect(limit.count(ALICE)).toBe(0);
  });

  it('is refused at the limit like any call', async () => {
    const limit = limitOf(1);
    const body = new PassThrough();
    await limit.runStreaming(ALICE, 'Drive', async () => body, (b) => b, 60_000);
    await expect(limit.runStreaming(ALICE, 'Drive', async () => new PassThrough(), (b) => b, 60_000)).rejects.toMatchObject({ status: 429, error: 'too_many_requests' });
    body.destroy();
  });
});
