import { Browser } from '../support/http-client.js';
import { getWithBearer, readObject, signIn, startSignIn, startWorld, World } from '../support/harness.js';
import { buildForReplicas, Replica, startReplica } from '../support/replica.js';

const TTL_MS = 400;

/** Polls until `fn` is true; returns the milliseconds it took. */
async function msUntil(fn: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = Date.now();
  while (!(await fn())) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

describe('Several replicas on one bucket (separate processes)', () => {
  let world: World;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    const main = buildForReplicas();
    world = await startWorld();
    // Behind one Kubernetes Service both replicas have the same public URL; here it names A's port, and the tests
    // deliver requests to B's port themselves.
    const shared = { SESSION_CACHE_TTL_MS: String(TTL_MS) };
    a = await startReplica(main, world, shared);
    b = await startReplica(main, world, { ...shared, PUBLIC_URL: a.url });
  }, 120_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await world?.close();
  });

  it('a sign-in started on A whose Google callback lands on B succeeds', async () => {
    const browser = new Browser();
    const location = await startSignIn(a, browser, 'hopper@example.com');
    const callback = new URL(await world.google.approve(location, { email: 'hopper@example.com' }));
    expect(callback.origin).toBe(a.url);
    const onB = `${b.url}${callback.pathname}${callback.search}`;
    const res = await browser.get(onB);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { email: string; access_token: string };
    expect(body.email).toBe('hopper@example.com');
    expect((await getWithBearer(a, '/auth/session', body.access_token)).status).toBe(200);
  });

  it('a bearer issued by A works on B (B loads the session from S3)', async () => {
    const { access_token, session_id } = await signIn(a, world, 'lovelace@example.com');
    const res = await getWithBearer(b, '/auth/session', access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email: 'lovelace@example.com', session_id });
    expect((await getWithBearer(b, '/v1/users/me/gmail/messages', access_token)).status).toBe(200);
  });

  it('revoke on B: B rejects at once, A within SESSION_CACHE_TTL_MS', async () => {
    const { access_token } = await signIn(a, world, 'turing@example.com');
    expect((await getWithBearer(a, '/v1/users/me/drive/files', access_token)).status).toBe(200); // A caches the session
    const revoked = await fetch(`${b.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${access_token}` } });
    expect(revoked.status).toBe(200);
    expect((await getWithBearer(b, '/auth/session', access_token)).status).toBe(401);
    const delay = await msUntil(async () => (await getWithBearer(a, '/auth/session', access_token)).status === 401, TTL_MS + 1000);
    expect(delay).toBeLessThanOrEqual(TTL_MS + 200);
    process.stdout.write(`revocation reached replica A after ${delay} ms (SESSION_CACHE_TTL_MS=${TTL_MS})\n`);
  });

  it('20 calls on A and 20 on B with an expired Google token: at most one refresh per replica, object intact', async () => {
    const { access_token } = await signIn(a, world, 'knuth@example.com');
    const before = await readObject(world, 'credentials/knuth@example.com.json');
    expect((await getWithBearer(b, '/v1/users/me/gmail/messages', access_token)).status).toBe(200); // B warm too
    world.google.expireAccessTokens('knuth@example.com');
    const calls = [a, b].flatMap((r) => Array.from({ length: 20 }, () => getWithBearer(r, '/v1/users/me/gmail/messages', access_token)));
    const statuses = (await Promise.all(calls)).map((r) => r.status);
    expect(statuses).toEqual(Array(40).fill(200));
    const refreshes = world.google.refreshCount('knuth@example.com');
    expect(refreshes).toBeGreaterThanOrEqual(1);
    expect(refreshes).toBeLessThanOrEqual(2);
    const after = await readObject(world, 'credentials/knuth@example.com.json');
    expect(after.json).toMatchObject({ version: 1, email: 'knuth@example.com', refresh_token: before.json.refresh_token });
    expect(after.json.token).not.toBe(before.json.token);
  });

  it('logout on A ends that session on B within SESSION_CACHE_TTL_MS', async () => {
    const { access_token } = await signIn(a, world, 'hamilton@example.com');
    expect((await getWithBearer(b, '/auth/session', access_token)).status).toBe(200); // B caches the session
    const out = await fetch(`${a.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${access_token}` } });
    expect(out.status).toBe(204);
    const delay = await msUntil(async () => (await getWithBearer(b, '/auth/session', access_token)).status === 401, TTL_MS + 1000);
    expect(delay).toBeLessThanOrEqual(TTL_MS + 200);
  });
});
