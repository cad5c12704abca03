import { useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { credentialsKeyPath, readObject, getWithBearer, signIn } from '../support/harness.js';

const GMAIL = '/v1/users/me/gmail/messages';
const key = (email: string) => `credentials/${email}.json`;
const keyPath = credentialsKeyPath;

/**
 * Replica A rotated a grant but S3 refused the write, so only A holds the new refresh token (written again in the
 * background). Replica B then hears invalid_grant for the old one and waits 2 x S3_TIMEOUT_MS + 2 s for the successor
 * before it believes the grant dead. Once S3 answers again, A's next attempt must land inside that wait: a live grant
 * is never deleted, and no session ends over it.
 */
describe('a rotated token written in the background lands before another replica gives up on the grant', () => {
  const replicas = useReplicasBehindS3Proxy({
    rotating: { throughProxy: true, env: { S3_TIMEOUT_MS: '4000' } }, // A in the test names: its S3 calls go through the proxy
    waiting: { env: { S3_TIMEOUT_MS: '4000' } }, // B. 4 s, not 2: with 2 s this case got a 503 on a machine under load 5+ (a full test run beside other jobs)
  });

  it('after a long S3 write outage on A, B keeps the grant and every session', async () => {
    const email = 'write-back-grace@example.com';
    const onA = await signIn(replicas.rotating, replicas.world, email);
    const onB = await signIn(replicas.waiting, replicas.world, email); // a second session of the same user
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    const puts = replicas.s3.inject({ method: 'PUT', path: keyPath(email), fault: 'reset', times: Infinity });
    expect((await getWithBearer(replicas.rotating, GMAIL, onA.access_token)).status).toBe(200); // RT1 -> RT2, kept in A's memory
    // Long enough for the backoff to grow past B's wait: 12 refused puts (the SDK tries each write twice).
    while (puts.hits < 12) await new Promise((r) => setTimeout(r, 50));
    puts.remove(); // S3 takes writes again
    replicas.world.google.expireAccessTokens(email);
    const res = await getWithBearer(replicas.waiting, GMAIL, onB.access_token); // B: RT1 refused; waits for RT2 to reach S3
    expect(res.status).toBe(200);
    for (const session of [onA, onB]) expect((await getWithBearer(replicas.waiting, '/auth/session', session.access_token)).status).toBe(200);
    expect(replicas.world.google.refreshTokenWorks((await readObject(replicas.world, key(email))).json.refresh_token as string)).toBe(true);
  }, 60_000);

  it('A\'s write and its first background retry both time out: B waits long enough for the third, and keeps the grant', async () => {
    // Two S3 faults in a row on A (the soak saw it with one S3 call in twenty failing): with a wait of only
    // S3_TIMEOUT_MS + 1 s, B deleted the live grant and ended the user's sessions.
    const email = 'write-back-twice@example.com';
    replicas.world.google.rotateRefreshTokens(false);
    const onA = await signIn(replicas.rotating, replicas.world, email);
    const onB = await signIn(replicas.waiting, replicas.world, email);
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    const stalls = replicas.s3.inject({ method: 'PUT', path: keyPath(email), fault: 'stall', times: 2 });
    const refreshes = replicas.world.google.refreshCount(email);
    const onAnswer = getWithBearer(replicas.rotating, GMAIL, onA.access_token); // RT1 -> RT2 at Google; its S3 write stalls, twice
    while (replicas.world.google.refreshCount(email) === refreshes) await new Promise((r) => setTimeout(r, 20));
    const res = await getWithBearer(replicas.waiting, GMAIL, onB.access_token); // B: RT1 refused; waits for RT2 to reach S3
    expect((await onAnswer).status).toBe(200);
    expect(res.status).toBe(200);
    expect(stalls.hits).toBe(2);
    for (const session of [onA, onB]) expect((await getWithBearer(replicas.waiting, '/auth/session', session.access_token)).status).toBe(200);
    expect(replicas.world.google.refreshTokenWorks((await readObject(replicas.world, key(email))).json.refresh_token as string)).toBe(true);
  }, 60_000);
});
