import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ALL_WORKSPACE_SCOPES, apiClient } from '../support/api-client.js';
import { SessionStore } from '../../src/sessions/session.store.js';
import { useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { credentialsKeyPath, getWithBearer, objectExists, Service, signIn, type SignedIn, startService, startWorld, World } from '../support/harness.js';

const GMAIL = '/v1/users/me/gmail/messages';
const key = (email: string) => `credentials/${email}.json`;
/** The credentials object's path as it travels (the SDK sends `@` as `%40`). */
const keyPath = credentialsKeyPath;

/**
 * Issue 10, "a refresh token is never lost": two replicas on one bucket, Google rotating refresh tokens or the
 * user granting again, refreshes racing and S3 writes failing. Every case ends with a refresh token in S3 that
 * Google still accepts, and the user's calls succeeding.
 */
describe('refresh races between replicas', () => {
  // The harness's S3 bound is 10 s; the grace for a rotation winner (2 x S3_TIMEOUT_MS + 2 s) is waited out below.
  const replicas = useReplicasBehindS3Proxy({
    proxied: { throughProxy: true, env: { S3_TIMEOUT_MS: '2000' } }, // A in the test names: S3 through the fault proxy
    direct: { env: { S3_TIMEOUT_MS: '2000' } }, // B
  });

  async function stored(email: string): Promise<Record<string, string>> {
    const out = await replicas.world.admin.send(new GetObjectCommand({ Bucket: replicas.world.bucket, Key: key(email) }));
    return JSON.parse((await out.Body?.transformToString()) ?? '{}') as Record<string, string>;
  }

  /** The end state every case must reach: S3 holds a refresh token Google accepts, and calls work on both replicas. */
  async function expectIntact(email: string, bearer: string): Promise<void> {
    const rt = (await stored(email)).refresh_token;
    expect(replicas.world.google.refreshTokenWorks(rt)).toBe(true);
    for (const service of [replicas.proxied, replicas.direct]) expect((await getWithBearer(service, GMAIL, bearer)).status).toBe(200);
    // And once more after Google expires the access tokens: a refresh from what S3 holds works.
    replicas.world.google.expireAccessTokens(email);
    for (const service of [replicas.proxied, replicas.direct]) expect((await getWithBearer(service, GMAIL, bearer)).status).toBe(200);
    expect(replicas.world.google.refreshTokenWorks((await stored(email)).refresh_token)).toBe(true);
  }

  /** Signs the user in on A; B serves a call with the bearer, so it holds the session and the credentials too. */
  async function signedInOnBoth(email: string): Promise<SignedIn> {
    const signedIn = await signIn(replicas.proxied, replicas.world, email);
    expect((await getWithBearer(replicas.direct, GMAIL, signedIn.access_token)).status).toBe(200); // B holds the credentials too
    return signedIn;
  }

  /** B's next call with `bearer` refreshes (B read S3 and asked Google): its refresh is held at Google until `held.release()`. */
  async function refreshHeldOnB(bearer: string) {
    const held = replicas.world.google.holdNext('refresh');
    const onB = getWithBearer(replicas.direct, GMAIL, bearer);
    await held.arrived;
    return { held, onB };
  }

  async function until(what: string, fn: () => Promise<boolean>, limitMs = 10_000): Promise<void> {
    const started = Date.now();
    while (!(await fn())) {
      if (Date.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('(a) with rotation, both replicas refreshing at once keep the winner\'s token; every call succeeds', async () => {
    const email = 'race-a@example.com';
    const { access_token } = await signedInOnBoth(email);
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    const calls = [replicas.proxied, replicas.direct].flatMap((s) => Array.from({ length: 10 }, () => getWithBearer(s, GMAIL, access_token)));
    const answers = await Promise.all(calls);
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await objectExists(replicas.world, key(email))).toBe(true);
    await expectIntact(email, access_token);
  });

  it('(b) with rotation, the loser\'s refresh reaching Google after the winner stored the new token adopts it', async () => {
    const email = 'race-b@example.com';
    const { access_token } = await signedInOnBoth(email);
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    const { held, onB } = await refreshHeldOnB(access_token);
    expect((await getWithBearer(replicas.proxied, GMAIL, access_token)).status).toBe(200); // A refreshes and stores the successor
    const winner = (await stored(email)).refresh_token;
    held.release(); // B's refresh token is refused now
    const res = await onB;
    expect([res.status, await res.json()]).toEqual([200, expect.objectContaining({ messages: expect.any(Array) })]);
    expect((await stored(email)).refresh_token).toBe(winner);
    expect(replicas.world.google.refreshCount(email)).toBe(1); // B did not need a refresh of its own
    await expectIntact(email, access_token);
  });

  it('(c) with rotation, a refreshed token whose S3 write fails is used from memory and written until it lands', async () => {
    const email = 'race-c@example.com';
    const { access_token } = await signIn(replicas.proxied, replicas.world, email);
    const first = (await stored(email)).refresh_token;
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    // Every write of the credentials fails for now (the SDK's own retry included): Google has already rotated.
    const puts = replicas.s3.inject({ method: 'PUT', path: keyPath(email), fault: 'reset', times: Infinity });
    expect((await getWithBearer(replicas.proxied, GMAIL, access_token)).status).toBe(200);
    expect(replicas.world.google.refreshTokenWorks(first)).toBe(false);
    expect((await stored(email)).refresh_token).toBe(first); // S3 still holds the dead one
    // The next expiry on the same replica refreshes from the unwritten token, not from the dead one in S3.
    replicas.world.google.expireAccessTokens(email);
    expect((await getWithBearer(replicas.proxied, GMAIL, access_token)).status).toBe(200);
    expect(await objectExists(replicas.world, key(email))).toBe(true);
    expect(replicas.world.google.refreshCount(email)).toBe(2);
    await until('a background write was tried', async () => puts.hits >= 3);
    puts.remove(); // S3 takes writes again: the background write lands
    await until('S3 holds a live refresh token', async () => replicas.world.google.refreshTokenWorks((await stored(email)).refresh_token));
    await expectIntact(email, access_token);
  });

  it('(c) with rotation, an S3 answer lost after the write was applied: the new token is in S3 and calls go on', async () => {
    const email = 'race-c-lost@example.com';
    const { access_token } = await signIn(replicas.proxied, replicas.world, email);
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    replicas.s3.inject({ method: 'PUT', path: keyPath(email), fault: 'drop-answer', times: 1 });
    expect((await getWithBearer(replicas.proxied, GMAIL, access_token)).status).toBe(200);
    await until('S3 holds a live refresh token', async () => replicas.world.google.refreshTokenWorks((await stored(email)).refresh_token));
    await expectIntact(email, access_token);
  });

  it('(d) without rotation, a re-grant on A while B refreshes with the revoked token: the new grant and session survive', async () => {
    const email = 'race-d@example.com';
    const old = await signedInOnBoth(email);
    replicas.world.google.expireAccessTokens(email);
    const { held, onB } = await refreshHeldOnB(old.access_token);
    replicas.world.google.revokeUser(email); // the user removes the app at Google ...
    const renewed = await signIn(replicas.proxied, replicas.world, email); // ... and grants it again on A: a new refresh token and session
    const newGrant = (await stored(email)).refresh_token;
    held.release(); // B's refresh with the revoked token: invalid_grant
    expect((await onB).status).toBe(200);
    expect((await stored(email)).refresh_token).toBe(newGrant);
    expect((await getWithBearer(replicas.direct, '/auth/session', renewed.access_token)).status).toBe(200);
    await expectIntact(email, renewed.access_token);
  });

  it('(d) a re-grant landing while B waits to believe invalid_grant is taken: nothing deleted, no session ended', async () => {
    const email = 'race-d-grace@example.com';
    const old = await signedInOnBoth(email);
    replicas.world.google.revokeUser(email);
    const { held, onB } = await refreshHeldOnB(old.access_token);
    held.release(); // refused: S3 still holds the revoked token, so B re-reads it for a while before deleting
    const renewed = await signIn(replicas.proxied, replicas.world, email);
    expect((await onB).status).toBe(200);
    expect((await getWithBearer(replicas.proxied, '/auth/session', old.access_token)).status).toBe(200);
    await expectIntact(email, renewed.access_token);
  });

  it('(e) a token another replica stored that Google rejects: one refresh with the stored refresh token, then success', async () => {
    const email = 'race-e@example.com';
    const { access_token } = await signedInOnBoth(email); // B caches the sign-in token
    replicas.world.google.expireAccessTokens(email);
    expect((await getWithBearer(replicas.proxied, GMAIL, access_token)).status).toBe(200); // A refreshes and stores its token
    replicas.world.google.expireAccessTokens(email); // Google now rejects A's token too, though S3 says it is valid
    const before = replicas.world.google.refreshCount(email);
    const res = await getWithBearer(replicas.direct, GMAIL, access_token);
    expect(res.status).toBe(200);
    expect(replicas.world.google.refreshCount(email)).toBe(before + 1);
    await expectIntact(email, access_token);
  });

  it('a grant Google really refused is deleted after S3 was re-read; only sessions created before the refresh end', async () => {
    const email = 'race-dead@example.com';
    const { access_token, session_id } = await signIn(replicas.direct, replicas.world, email);
    replicas.world.google.revokeUser(email);
    const held = replicas.world.google.holdNext('refresh');
    const started = Date.now();
    const onB = getWithBearer(replicas.direct, GMAIL, access_token);
    await held.arrived;
    // A session made while that refresh is under way (say, a sign-in through the OAuth server) is not built on the
    // grant the refresh finds dead.
    const later = await replicas.proxied.app.get(SessionStore).create(email, 3600);
    held.release();
    const res = await onB;
    expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([401, 'reauth_required']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(6000); // the grace for a rotation winner: 2 x S3_TIMEOUT_MS + 2 s
    expect(await objectExists(replicas.world, key(email))).toBe(false);
    expect((await getWithBearer(replicas.direct, '/auth/session', access_token)).status).toBe(401);
    expect(await objectExists(replicas.world, `sessions/${session_id}.json`)).toBe(false);
    expect(await objectExists(replicas.world, `sessions/${later.sessionId}.json`)).toBe(true);
  });
});

describe('connection resets on Workspace calls', () => {
  let world: World;
  let googleProxy: FaultProxy;
  let sut: Service;
  let call: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    world = await startWorld();
    googleProxy = await FaultProxy.start(world.google.baseUrl);
    sut = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, GOOGLE_API_ROOT_URL: googleProxy.rewrite(world.google.urls.apiRoot) });
    call = apiClient(sut, (await signIn(sut, world, 'reset@example.com')).access_token);
  });
  afterAll(async () => {
    await sut?.close();
    await googleProxy?.stop();
    await world?.close();
  });

  it('a read-only call is retried once after a reset, and the caller never sees it', async () => {
    googleProxy.inject({ method: 'GET', path: '/gmail/v1/users/me/messages', fault: 'reset', times: 1 });
    const before = googleProxy.seen('GET', '/gmail/v1/users/me/messages').length;
    const res = await call('GET', GMAIL);
    expect(res.status).toBe(200);
    expect(googleProxy.seen('GET', '/gmail/v1/users/me/messages').length - before).toBe(2);
  });

  it('a read-only call reset twice is answered 502 google_unavailable after one retry', async () => {
    googleProxy.inject({ method: 'GET', path: '/drive/v3/files', fault: 'reset', times: 2 });
    const before = googleProxy.seen('GET', '/drive/v3/files').length;
    const res = await call('GET', '/v1/users/me/drive/files');
    expect([res.status, res.json.error]).toEqual([502, 'google_unavailable']);
    expect(googleProxy.seen('GET', '/drive/v3/files').length - before).toBe(2);
  });

  it('a call that changes something is not retried after a reset, nor after an answer lost once Google applied it', async () => {
    const sendPath = '/gmail/v1/users/me/messages/send';
    for (const fault of ['reset', 'drop-answer'] as const) {
      googleProxy.inject({ method: 'POST', path: sendPath, fault, times: 1 });
      const before = googleProxy.seen('POST', sendPath).length;
      const sentBefore = world.google.apiCalls.filter((c) => c.path.endsWith('/messages/send')).length;
      const res = await call('POST', `${GMAIL}`, { to: ['ada@example.com'], subject: `once (${fault})`, text: 'only once' });
      expect([fault, res.status, res.json.error]).toEqual([fault, 502, 'google_unavailable']);
      expect(googleProxy.seen('POST', sendPath).length - before).toBe(1);
      const sent = world.google.apiCalls.filter((c) => c.path.endsWith('/messages/send')).length - sentBefore;
      expect([fault, sent]).toEqual([fault, fault === 'reset' ? 0 : 1]); // applied at most once
    }
  });
});
