import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { credentialsKeyPath, getWithBearer, objectExists, readObject, signIn, type SignedIn } from '../support/harness.js';
import { RefreshWriteBack } from '../../src/credentials/refresh-write-back.js';

const GMAIL = '/v1/users/me/gmail/messages';
const key = (email: string) => `credentials/${email}.json`;
const markKey = (email: string) => `sessions/revoking/${email}.json`;

/**
 * A revocation that found no credentials in S3 writes its mark without a grant fingerprint. When S3 fails part-way,
 * the mark stays until someone finishes the revocation, which may be much later. Meanwhile the person signs in
 * again: that grant was given after the revocation started, and neither a resume of the old revocation nor the
 * fence against refreshes racing a revocation (RevocationFence) may revoke it. What the mark does cover, a grant
 * that existed when the revocation started (a replica's unwritten rotated token), is still revoked.
 */
describe('a revocation mark without a grant fingerprint', () => {
  const replicas = useReplicasBehindS3Proxy({
    revoking: { throughProxy: true, env: { S3_TIMEOUT_MS: '1500', SESSION_CACHE_TTL_MS: '200' } }, // A
    refreshing: { throughProxy: true, env: { S3_TIMEOUT_MS: '1500', SESSION_CACHE_TTL_MS: '200' } }, // B
  });

  const revokeOn = (url: string, token: string) => fetch(`${url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  async function storedRefreshToken(email: string): Promise<string | undefined> {
    if (!(await objectExists(replicas.world, key(email)))) return undefined;
    const out = await replicas.world.admin.send(new GetObjectCommand({ Bucket: replicas.world.bucket, Key: key(email) }));
    return (JSON.parse((await out.Body?.transformToString()) ?? '{}') as { refresh_token?: string }).refresh_token;
  }

  /**
   * A session of `email` whose credentials S3 no longer holds (the grant was found dead at Google and deleted, and
   * S3 failed to end its sessions), revoked with the mark's clear failing: the revocation is left unfinished, its
   * mark (without a fingerprint) stays, and this session has ended.
   */
  async function unfinishedRevocationWithoutGrant(email: string): Promise<SignedIn> {
    const old = await signIn(replicas.revoking, replicas.world, email);
    replicas.world.google.revokeUser(email);
    await replicas.world.admin.send(new DeleteObjectCommand({ Bucket: replicas.world.bucket, Key: key(email) }));
    const clear = replicas.s3.inject({ method: 'DELETE', path: `/${replicas.world.bucket}/sessions/revoking/`, fault: 'reset', times: Infinity });
    const failed = await revokeOn(replicas.revoking.url, old.access_token);
    clear.remove();
    expect(clear.hits).toBeGreaterThan(0);
    expect([failed.status, ((await failed.json()) as { error?: string }).error]).toEqual([503, 'revocation_incomplete']);
    const mark = (await readObject(replicas.world, markKey(email))).json;
    expect(mark.grant_sha256).toBeUndefined(); // nothing was stored to fingerprint
    await new Promise((r) => setTimeout(r, 250)); // past SESSION_CACHE_TTL_MS
    expect((await getWithBearer(replicas.revoking, '/auth/session', old.access_token)).status).toBe(401);
    return old;
  }

  it('a resume with an old but unexpired token leaves a later sign-in\'s grant and sessions alone, and finishes', async () => {
    const email = 'no-grant-resume@example.com';
    const old = await unfinishedRevocationWithoutGrant(email);
    // The revocation stopped there ten minutes ago (its start is what a resume goes by), and nobody finished it.
    const mark = (await readObject(replicas.world, markKey(email))).json;
    const tenMinutesAgo = new Date(Date.parse(String(mark.started_at)) - 600_000).toISOString();
    await replicas.world.admin.send(new PutObjectCommand({ Bucket: replicas.world.bucket, Key: markKey(email), Body: JSON.stringify({ ...mark, started_at: tenMinutesAgo }), ContentType: 'application/json' }));
    // The person signs in again: a new grant, stored after the revocation started.
    const later = await signIn(replicas.revoking, replicas.world, email);
    const newGrant = (await storedRefreshToken(email)) as string;
    expect(newGrant).toBeDefined();

    // A client retries the old revoke with the old token, as the 503 told it to.
    const resumed = await revokeOn(replicas.revoking.url, old.access_token);
    expect([resumed.status, await resumed.json()]).toEqual([200, { revoked: true }]);
    expect(await objectExists(replicas.world, markKey(email))).toBe(false); // finished

    expect(replicas.world.google.revocations).not.toContain(newGrant);
    expect(replicas.world.google.refreshTokenWorks(newGrant)).toBe(true);
    expect(await storedRefreshToken(email)).toBe(newGrant);
    await new Promise((r) => setTimeout(r, 250));
    expect((await getWithBearer(replicas.revoking, '/auth/session', later.access_token)).status).toBe(200);
    expect((await getWithBearer(replicas.refreshing, GMAIL, later.access_token)).status).toBe(200);
  });

  it('with rotation, a later sign-in\'s refresh keeps its rotated token while the old mark is still in S3', async () => {
    const email = 'no-grant-fence@example.com';
    await unfinishedRevocationWithoutGrant(email);
    const later = await signIn(replicas.revoking, replicas.world, email);
    const newGrant = (await storedRefreshToken(email)) as string;
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);

    const res = await getWithBearer(replicas.refreshing, GMAIL, later.access_token);
    expect(res.status).toBe(200);
    const rotated = (await storedRefreshToken(email)) as string;
    expect(rotated).toBeDefined();
    expect(rotated).not.toBe(newGrant); // Google rotated, and S3 holds the successor
    expect(replicas.world.google.revocations).not.toContain(rotated);
    expect(replicas.world.google.refreshTokenWorks(rotated)).toBe(true);
    expect(await objectExists(replicas.world, markKey(email))).toBe(true); // the old revocation is still unfinished
  });

  it('with rotation, a successor of a grant that existed when the revocation started is still revoked when it lands', async () => {
    const email = 'no-grant-unwritten@example.com';
    const { access_token } = await signIn(replicas.revoking, replicas.world, email);
    expect((await getWithBearer(replicas.refreshing, GMAIL, access_token)).status).toBe(200);
    const rt1 = (await storedRefreshToken(email)) as string;
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    // B refreshes: Google rotates RT1 to RT2, S3 refuses B's write, B keeps RT2 and writes it again in the background.
    const puts = replicas.s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault: 'reset', times: Infinity });
    expect((await getWithBearer(replicas.refreshing, GMAIL, access_token)).status).toBe(200);
    const rt2 = replicas.refreshing.app.get(RefreshWriteBack).get(email)?.credentials.refreshToken as string;
    expect(rt2).toBeDefined();
    expect(rt2).not.toBe(rt1);
    // The dead RT1 is deleted from S3 (a replica that heard invalid_grant for it): the revocation finds nothing.
    await replicas.world.admin.send(new DeleteObjectCommand({ Bucket: replicas.world.bucket, Key: key(email) }));
    const clear = replicas.s3.holdNext({ method: 'DELETE', path: `/${replicas.world.bucket}/sessions/revoking/` });
    const revoking = revokeOn(replicas.revoking.url, access_token);
    await clear.arrived;
    expect((await readObject(replicas.world, markKey(email))).json.grant_sha256).toBeUndefined();
    // While the mark is in S3, B's RT2 lands and re-creates the object.
    puts.remove();
    const started = Date.now();
    while (replicas.refreshing.app.get(RefreshWriteBack).get(email) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
    expect(replicas.refreshing.app.get(RefreshWriteBack).get(email)).toBeUndefined();
    await clear.release();
    expect((await revoking).status).toBe(200);
    const until = Date.now() + 5000;
    while ((await objectExists(replicas.world, key(email))) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await objectExists(replicas.world, key(email))).toBe(false);
    expect(replicas.world.google.revocations).toContain(rt2);
    expect(replicas.world.google.refreshTokenWorks(rt2)).toBe(false);
  });
});
