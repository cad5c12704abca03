import { FaultProxy } from '../support/fault-proxy.js';
import { getWithBearer, objectExists, postToken, type Service, signIn, startService, startWorld, type World } from '../support/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A session ended on one replica must not act on another that still holds it in memory, and an ended session must
 * not come back on its own replica from an S3 read that started before it ended.
 */
describe('Ending a session races replicas and slow S3 reads', () => {
  let world: World;
  let a: Service;
  let b: Service;
  let proxy: FaultProxy;
  let slow: Service; // reaches S3 through the proxy

  beforeAll(async () => {
    world = await startWorld();
    proxy = await FaultProxy.start(world.s3.endpoint);
    // A and B trust their memory for a minute: well past everything below.
    a = await startService(world, { SESSION_CACHE_TTL_MS: '60000' });
    b = await startService(world, { SESSION_CACHE_TTL_MS: '60000' });
    slow = await startService(world, { S3_ENDPOINT: proxy.url, SESSION_CACHE_TTL_MS: '1000', S3_TIMEOUT_MS: '4000' });
  });
  afterEach(() => proxy.clear());
  afterAll(async () => {
    for (const s of [a, b, slow]) await s?.close();
    await proxy?.stop();
    await world?.close();
  });

  describe('revoking with a token whose session another replica ended', () => {
    it('after a logout on A, the token revokes nothing on B (which still holds the session in memory)', async () => {
      const email = 'logged-out-elsewhere@example.com';
      const ended = await signIn(a, world, email);
      const kept = await signIn(a, world, email);
      expect((await getWithBearer(b, '/auth/session', ended.access_token)).status).toBe(200); // B now holds it
      expect((await postToken(a, '/auth/logout', ended.access_token)).status).toBe(204);
      const revocationsBefore = world.google.revocations.length;

      const res = await postToken(b, '/auth/revoke', ended.access_token);
      expect(res.status).toBe(200);
      expect(world.google.revocations.length).toBe(revocationsBefore);
      expect(await objectExists(world, `credentials/${email}.json`)).toBe(true);
      expect(await objectExists(world, `sessions/${kept.session_id}.json`)).toBe(true);
      expect((await getWithBearer(a, '/v1/users/me/gmail/messages', kept.access_token)).status).toBe(200);
    });

    it('after a revocation on A and a new sign-in, replaying the old token on B leaves the new grant alone', async () => {
      const email = 'revoked-elsewhere@example.com';
      const old = await signIn(a, world, email);
      expect((await getWithBearer(b, '/auth/session', old.access_token)).status).toBe(200);
      expect((await postToken(a, '/auth/revoke', old.access_token)).status).toBe(200);
      const again = await signIn(a, world, email);
      const revocationsBefore = world.google.revocations.length;

      expect((await postToken(b, '/auth/revoke', old.access_token)).status).toBe(200);
      expect(world.google.revocations.length).toBe(revocationsBefore);
      expect(await objectExists(world, `credentials/${email}.json`)).toBe(true);
      expect(await objectExists(world, `sessions/${again.session_id}.json`)).toBe(true);
      expect((await getWithBearer(a, '/v1/users/me/gmail/messages', again.access_token)).status).toBe(200);
    });
  });

  describe('an S3 read that started before the session ended, answered after', () => {
    const sessionRead = (id: string) => new RegExp(`^/${world.bucket}/sessions/${id}\\.json$`);

    /** Signs in, lets memory's copy age past the cache TTL, and starts a re-check of the session whose answer comes late. */
    async function signInWithSlowRecheck(email: string) {
      const user = await signIn(slow, world, email);
      await sleep(1100); // past SESSION_CACHE_TTL_MS: the next request re-checks S3
      proxy.inject({ method: 'GET', path: sessionRead(user.session_id), fault: 'slow-answer', ms: 1500 });
      // Served from memory after a short wait (warm-user rule) while the re-check is still on its way back.
      const during = getWithBearer(slow, '/auth/session', user.access_token);
      await until('the re-check to reach S3', () => proxy.seen('GET', sessionRead(user.session_id)).some((r) => r.fault === 'slow-answer'));
      const lateAnswer = async () => {
        await until('the late answer', () => proxy.seen('GET', sessionRead(user.session_id)).some((r) => r.fault === 'slow-answer' && r.status !== undefined));
        await sleep(100); // the service takes it in
      };
      return { user, during, lateAnswer };
    }

    it('a logout on the same replica stays ended: 401 right after the late answer lands', async () => {
      const { user, during, lateAnswer } = await signInWithSlowRecheck('late-read-logout@example.com');
      expect((await postToken(slow, '/auth/logout', user.access_token)).status).toBe(204);
      expect((await during).status).toBe(200); // it started before the logout
      await lateAnswer();
      const after = await getWithBearer(slow, '/auth/session', user.access_token);
      expect(after.status).toBe(401);
      expect(await after.json()).toMatchObject({ statusCode: 401, error: 'session_ended' });
    });

    it('a revocation on the same replica stays ended: 401 right after the late answer lands', async () => {
      const { user, during, lateAnswer } = await signInWithSlowRecheck('late-read-revoke@example.com');
      expect((await postToken(slow, '/auth/revoke', user.access_token)).status).toBe(200);
      expect((await during).status).toBe(200);
      await lateAnswer();
      expect(await objectExists(world, 'credentials/late-read-revoke@example.com.json')).toBe(false);
      expect((await getWithBearer(slow, '/auth/session', user.access_token)).status).toBe(401);
    });
  });
});
