import { useAppBehindS3Proxy, useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { getWithBearer, type Service, signIn, type SignedIn } from '../support/harness.js';

// Small bounds so the suite is quick; every assertion on time allows S3_TIMEOUT_MS + MARGIN_MS (a loaded machine).
const S3_TIMEOUT_MS = 1500;
const MARGIN_MS = 1500;
const SESSION_CACHE_TTL_MS = 300;

/** A request's status, JSON body and how long it took. */
async function timed(req: Promise<Response>): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = Date.now();
  const res = await req;
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, body, ms: Date.now() - started };
}

const post = (service: Service, path: string, token: string) =>
  fetch(`${service.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

/** Asserts the JSON 503 that names S3, answered within the bound. */
function expectS3Unavailable(r: { status: number; body: Record<string, unknown>; ms: number }): void {
  expect(r).toMatchObject({ status: 503, body: { statusCode: 503, error: expect.any(String), message: expect.stringMatching(/S3/) } });
  expect(r.ms).toBeLessThan(S3_TIMEOUT_MS + MARGIN_MS);
}

describe('S3 black-holed (accepts connections, never answers): every call is bounded', () => {
  const env = { S3_TIMEOUT_MS: String(S3_TIMEOUT_MS), SESSION_CACHE_TTL_MS: String(SESSION_CACHE_TTL_MS) };
  const replicas = useReplicasBehindS3Proxy({
    sut: { throughProxy: true, env }, // reaches S3 through the proxy
    other: { env }, // another replica with a direct line to S3 (signs in users sut has never seen)
  });
  let warm: SignedIn;
  let cold: SignedIn;
  let refreshing: SignedIn;

  beforeAll(async () => {
    warm = await signIn(replicas.sut, replicas.world, 'warm@example.com');
    refreshing = await signIn(replicas.sut, replicas.world, 'refreshing@example.com');
    cold = await signIn(replicas.other, replicas.world, 'cold@example.com');
    // Warm: sut has the session and the Google credentials in memory.
    expect((await getWithBearer(replicas.sut, '/v1/users/me/drive/files', warm.access_token)).status).toBe(200);
    expect((await getWithBearer(replicas.sut, '/v1/users/me/drive/files', refreshing.access_token)).status).toBe(200);
  });

  it('requests that need S3 end within S3_TIMEOUT_MS + margin with a JSON 503 naming S3', async () => {
    replicas.s3.blackhole(true);
    // A warm session is described from memory (session, claims, cached credentials): S3 being stuck does not matter.
    const described = await timed(getWithBearer(replicas.sut, '/auth/session', warm.access_token));
    expect(described).toMatchObject({ status: 200, body: { email: 'warm@example.com', google: { has_refresh_token: true } } });
    expect(described.ms).toBeLessThan(S3_TIMEOUT_MS);
    const results = await Promise.all([
      timed(getWithBearer(replicas.sut, '/v1/users/me/drive/files', cold.access_token)), // bearer not in memory
      timed(getWithBearer(replicas.sut, '/auth/session', cold.access_token)),
      timed(post(replicas.sut, '/auth/revoke', warm.access_token)),
    ]);
    for (const r of results) expectS3Unavailable(r);
    expect(results[2].body).toMatchObject({ error: 'revocation_incomplete' });
    expect(replicas.s3.seen().some((r) => r.fault === 'blackhole')).toBe(true);
  });

  it('a Google refresh that needs S3 ends with a bounded 503 naming S3', async () => {
    replicas.world.google.expireAccessTokens('refreshing@example.com');
    replicas.s3.blackhole(true);
    expectS3Unavailable(await timed(getWithBearer(replicas.sut, '/v1/users/me/drive/files', refreshing.access_token)));
  });

  it('logout ends with a bounded 503, and the session stays usable (nothing was ended)', async () => {
    replicas.s3.blackhole(true);
    const r = await timed(post(replicas.sut, '/auth/logout', warm.access_token));
    expectS3Unavailable(r);
    replicas.s3.blackhole(false);
    expect((await getWithBearer(replicas.sut, '/v1/users/me/drive/files', warm.access_token)).status).toBe(200);
  });

  it('many waiters on one hung session lookup are all answered within the bound', async () => {
    replicas.s3.blackhole(true);
    const results = await Promise.all(Array.from({ length: 10 }, () => timed(getWithBearer(replicas.sut, '/v1/users/me/drive/files', cold.access_token))));
    for (const r of results) expectS3Unavailable(r);
  });

  it('a warm user keeps working from memory during the outage (warm-user rule)', async () => {
    expect((await getWithBearer(replicas.sut, '/v1/users/me/drive/files', warm.access_token)).status).toBe(200); // confirmed just now
    replicas.s3.blackhole(true);
    await new Promise((r) => setTimeout(r, SESSION_CACHE_TTL_MS + 50)); // the memory copy is due for a re-check
    const first = await timed(getWithBearer(replicas.sut, '/v1/users/me/drive/files', warm.access_token));
    expect(first.status).toBe(200);
    expect(first.ms).toBeLessThan(S3_TIMEOUT_MS + MARGIN_MS); // this one waited for the S3 attempt
    for (let i = 0; i < 5; i++) {
      const next = await timed(getWithBearer(replicas.sut, '/v1/users/me/gmail/messages', warm.access_token));
      expect(next.status).toBe(200);
      expect(next.ms).toBeLessThan(S3_TIMEOUT_MS); // served from memory: no wait for S3
    }
  });

  it('readiness goes 503 during the black hole and back to 200 after it', async () => {
    replicas.s3.blackhole(true);
    const down = await timed(fetch(`${replicas.sut.url}/health/ready`));
    expect(down.status).toBe(503);
    expect(down.ms).toBeLessThan(S3_TIMEOUT_MS + MARGIN_MS);
    expect(down.body).toMatchObject({ error: { s3: { status: 'down', reason: 'timeout' } }, message: expect.stringMatching(/^Not ready: S3 did not answer in time/) });
    replicas.s3.blackhole(false);
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await fetch(`${replicas.sut.url}/health/ready`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect((await getWithBearer(replicas.sut, '/auth/session', cold.access_token)).status).toBe(200);
  });

  it('a stalled answer to one request (not a whole black hole) is bounded too', async () => {
    // sut knows neither this session nor these credentials: describing it reads both from S3.
    const fresh = await signIn(replicas.other, replicas.world, 'fresh-stall@example.com');
    replicas.s3.inject({ method: 'GET', path: `/${replicas.world.bucket}/credentials/`, fault: 'stall', times: Infinity });
    expectS3Unavailable(await timed(getWithBearer(replicas.sut, '/auth/session', fresh.access_token)));
  });

  it('a stopped S3 (connection refused) also gives a prompt JSON 503 naming S3', async () => {
    const fresh = await signIn(replicas.other, replicas.world, 'fresh-stop@example.com'); // unknown to sut: needs S3 there
    await replicas.world.s3.embedded?.stop();
    try {
      const results = await Promise.all([
        timed(getWithBearer(replicas.sut, '/auth/session', fresh.access_token)),
        timed(post(replicas.sut, '/auth/revoke', warm.access_token)),
      ]);
      for (const r of results) expectS3Unavailable(r);
    } finally {
      await replicas.world.s3.embedded?.start();
    }
    expect((await getWithBearer(replicas.sut, '/auth/session', warm.access_token)).status).toBe(200);
  });
});

describe('the warm-user rule has a bound (SESSION_OUTAGE_GRACE_MS)', () => {
  const app = useAppBehindS3Proxy({
    S3_TIMEOUT_MS: '800',
    SESSION_CACHE_TTL_MS: '200',
    SESSION_OUTAGE_GRACE_MS: '2500',
  });

  it('a session last confirmed longer ago than the grace gets 503 while S3 is unreachable, and works again after', async () => {
    const user = await signIn(app.sut, app.world, 'grace@example.com');
    expect((await getWithBearer(app.sut, '/v1/users/me/drive/files', user.access_token)).status).toBe(200);
    app.s3.blackhole(true);
    await new Promise((r) => setTimeout(r, 300));
    expect((await getWithBearer(app.sut, '/v1/users/me/drive/files', user.access_token)).status).toBe(200); // within grace
    await new Promise((r) => setTimeout(r, 2600));
    const after = await timed(getWithBearer(app.sut, '/v1/users/me/drive/files', user.access_token));
    expect(after).toMatchObject({ status: 503, body: { message: expect.stringMatching(/S3/) } });
    app.s3.blackhole(false);
    expect((await getWithBearer(app.sut, '/v1/users/me/drive/files', user.access_token)).status).toBe(200);
  });
});
