import { randomBytes } from 'node:crypto';
import { Browser } from '../support/http-client.js';
import { getWithBearer, readObject, signIn, startSignIn, startWorld, World } from '../support/harness.js';
import { buildForReplicas, Replica, startReplica } from '../support/replica.js';

const TTL_MS = 400;
/** The bundle the replica processes run, built once for the file. */
let main: string | undefined;

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
    main ??= buildForReplicas();
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

describe('Rotating the signing key across replica processes (README, "Rotating the signing key")', () => {
  const OLD = `old-${randomBytes(32).toString('base64url')}`;
  const NEW = `new-${randomBytes(32).toString('base64url')}`;
  let world: World;
  let a: Replica;
  let b: Replica;
  let c: Replica | undefined;

  beforeAll(async () => {
    main ??= buildForReplicas();
    world = await startWorld();
    // Phase 2 under way: A not yet replaced (old key, the new one accepted since phase 1), B replaced (new key, old accepted).
    a = await startReplica(main, world, { JWT_SECRET: OLD, JWT_ACCEPTED_SECRETS: NEW });
    b = await startReplica(main, world, { JWT_SECRET: NEW, JWT_ACCEPTED_SECRETS: OLD, PUBLIC_URL: a.url });
  }, 120_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await c?.stop();
    await world?.close();
  });

  /** A sign-in started on `from`, its Google callback delivered to `to`; `host_redirected`: B is reached by its own port, not the public host. */
  async function signInAcross(from: Replica, to: Replica, email: string): Promise<Response> {
    const browser = new Browser();
    const start = await browser.get(`${from.url}/auth/google?${new URLSearchParams({ login_hint: email, host_redirected: '1' })}`);
    const callback = new URL(await world.google.approve(start.headers.get('location') ?? '', { email }));
    return browser.get(`${to.url}${callback.pathname}${callback.search}`);
  }

  it('bearers and sign-ins cross between old-key and new-key replicas both ways; once the old key is dropped its bearer gets 401 invalid_token', async () => {
    const fromA = (await (await signInAcross(a, a, 'rot-proc-a@example.com')).json()) as { access_token: string };
    const fromB = (await (await signInAcross(b, b, 'rot-proc-b@example.com')).json()) as { access_token: string };
    for (const replica of [a, b]) {
      expect((await getWithBearer(replica, '/auth/session', fromA.access_token)).status).toBe(200);
      expect((await getWithBearer(replica, '/auth/session', fromB.access_token)).status).toBe(200);
    }
    expect((await signInAcross(a, b, 'rot-proc-ab@example.com')).status).toBe(200);
    expect((await signInAcross(b, a, 'rot-proc-ba@example.com')).status).toBe(200);

    // Phase 3: the new key alone.
    c = await startReplica(main as string, world, { JWT_SECRET: NEW, PUBLIC_URL: a.url });
    const old = await getWithBearer(c, '/auth/session', fromA.access_token);
    expect(old.status).toBe(401);
    expect(((await old.json()) as { error: string }).error).toBe('invalid_token');
    expect((await getWithBearer(c, '/auth/session', fromB.access_token)).status).toBe(200);
  });
});
