import { useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { getWithBearer, objectExists, postToken, signIn } from '../support/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One sample of a Prometheus text exposition (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A session ended on one replica must not act on another that still holds it in memory, and an ended session must
 * not come back on its own replica from an S3 read that started before it ended.
 */
describe('Ending a session races replicas and slow S3 reads', () => {
  const replicas = useReplicasBehindS3Proxy({
    // A and B trust their memory for a minute: well past everything below.
    ending: { env: { SESSION_CACHE_TTL_MS: '60000' } }, // A in the test names: sessions end here
    holding: { env: { SESSION_CACHE_TTL_MS: '60000' } }, // B: still holds the session in memory
    slow: { throughProxy: true, env: { SESSION_CACHE_TTL_MS: '1000', S3_TIMEOUT_MS: '4000' } }, // reaches S3 through the proxy
  });

  describe('revoking with a token whose session another replica ended', () => {
    it('after a logout on A, the token revokes nothing on B (which still holds the session in memory)', async () => {
      const email = 'logged-out-elsewhere@example.com';
      const ended = await signIn(replicas.ending, replicas.world, email);
      const kept = await signIn(replicas.ending, replicas.world, email);
      expect((await getWithBearer(replicas.holding, '/auth/session', ended.access_token)).status).toBe(200); // B now holds it
      expect((await postToken(replicas.ending, '/auth/logout', ended.access_token)).status).toBe(204);
      const revocationsBefore = replicas.world.google.revocations.length;

      const res = await postToken(replicas.holding, '/auth/revoke', ended.access_token);
      expect(res.status).toBe(200);
      expect(replicas.world.google.revocations.length).toBe(revocationsBefore);
      expect(await objectExists(replicas.world, `credentials/${email}.json`)).toBe(true);
      expect(await objectExists(replicas.world, `sessions/${kept.session_id}.json`)).toBe(true);
      expect((await getWithBearer(replicas.ending, '/v1/users/me/gmail/messages', kept.access_token)).status).toBe(200);
    });

    it('after a revocation on A and a new sign-in, replaying the old token on B leaves the new grant alone', async () => {
      const email = 'revoked-elsewhere@example.com';
      const old = await signIn(replicas.ending, replicas.world, email);
      expect((await getWithBearer(replicas.holding, '/auth/session', old.access_token)).status).toBe(200);
      expect((await postToken(replicas.ending, '/auth/revoke', old.access_token)).status).toBe(200);
      const again = await signIn(replicas.ending, replicas.world, email);
      const revocationsBefore = replicas.world.google.revocations.length;

      expect((await postToken(replicas.holding, '/auth/revoke', old.access_token)).status).toBe(200);
      expect(replicas.world.google.revocations.length).toBe(revocationsBefore);
      expect(await objectExists(replicas.world, `credentials/${email}.json`)).toBe(true);
      expect(await objectExists(replicas.world, `sessions/${again.session_id}.json`)).toBe(true);
      expect((await getWithBearer(replicas.ending, '/v1/users/me/gmail/messages', again.access_token)).status).toBe(200);
    });
  });

  describe('an S3 read that started before the session ended, answered after', () => {
    const sessionRead = (id: string) => new RegExp(`^/${replicas.world.bucket}/sessions/${id}\\.json$`);

    /**
     * Signs in, lets memory's copy age past the cache TTL, and starts a re-check of the session that S3 answers at
     * once (the session live) but whose answer the proxy keeps until lateAnswer(): the test ends the session in
     * between. Kept until then, not relayed after a fixed 1.5 s, a window the logout or the whole revocation had to fit
     * in; on a slower S3 the answer could land first and the test pass without a late answer to refuse.
     */
    async function signInWithSlowRecheck(email: string) {
      const user = await signIn(replicas.slow, replicas.world, email);
      await sleep(1100); // past SESSION_CACHE_TTL_MS: the next request re-checks S3
      const recheck = replicas.s3.holdAnswerNext({ method: 'GET', path: sessionRead(user.session_id) });
      // Served from memory after a short wait (warm-user rule) while the re-check's answer is kept back.
      const during = getWithBearer(replicas.slow, '/auth/session', user.access_token);
      await recheck.answered; // S3 read the session as it was then: live
      // S3 reads the service has finished (body read and parsed): the session store takes such a result in without
      // further I/O, so before the service handles its next request.
      const readsDone = async () => sample(await (await fetch(replicas.slow.metricsUrl)).text(), 'broker_s3_operation_duration_seconds_count', { operation: 'get', outcome: 'ok' });
      const lateAnswer = async () => {
        const before = await readsDone();
        const releasedAt = Date.now();
        recheck.release();
        await until('the service to take the late answer in', async () => (await readsDone()) > before);
        expect(replicas.s3.seen('GET').filter((r) => r.at >= releasedAt)).toEqual([]); // the read it finished was the re-check
      };
      return { user, during, lateAnswer };
    }

    it('a logout on the same replica stays ended: 401 right after the late answer lands', async () => {
      const { user, during, lateAnswer } = await signInWithSlowRecheck('late-read-logout@example.com');
      expect((await postToken(replicas.slow, '/auth/logout', user.access_token)).status).toBe(204);
      expect((await during).status).toBe(200); // it started before the logout
      await lateAnswer();
      const after = await getWithBearer(replicas.slow, '/auth/session', user.access_token);
      expect(after.status).toBe(401);
      expect(await after.json()).toMatchObject({ statusCode: 401, error: 'session_ended' });
    });

    it('a revocation on the same replica stays ended: 401 right after the late answer lands', async () => {
      const { user, during, lateAnswer } = await signInWithSlowRecheck('late-read-revoke@example.com');
      expect((await postToken(replicas.slow, '/auth/revoke', user.access_token)).status).toBe(200);
      expect((await during).status).toBe(200);
      await lateAnswer();
      expect(await objectExists(replicas.world, 'credentials/late-read-revoke@example.com.json')).toBe(false);
      expect((await getWithBearer(replicas.slow, '/auth/session', user.access_token)).status).toBe(401);
    });
  });
});
