import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { credentialsKeyPath, getWithBearer, objectExists, signIn } from '../support/harness.js';
import { RefreshWriteBack } from '../../src/credentials/refresh-write-back.js';

const GMAIL = '/v1/users/me/gmail/messages';
const key = (email: string) => `credentials/${email}.json`;

/**
 * A revocation on one replica racing a refresh on another, which still trusts its copy of the session for up to
 * SESSION_CACHE_TTL_MS. The revocation's {"revoked":true} must mean what it says: nothing of the grant left in S3,
 * and no refresh token of it still accepted by Google, however the two interleave.
 *
 * Each interleaving is made by holding one side's S3 request at the proxy until the other side has done its part,
 * then releasing it: never by delaying it a fixed time, which is a window the other side must fit in. With S3 slower
 * than the embedded server (Ceph RGW, a busy machine) the other side overran the window, and the test then passed
 * on another interleaving than the one it names.
 */
describe('revocation racing a refresh on another replica', () => {
  // Both replicas' S3 calls go through the proxy, so each side's writes can be held.
  const replicas = useReplicasBehindS3Proxy({
    revoking: { throughProxy: true, env: { S3_TIMEOUT_MS: '5000' } }, // A in the test names
    refreshing: { throughProxy: true, env: { S3_TIMEOUT_MS: '5000' } }, // B
  });

  async function storedRefreshToken(email: string): Promise<string | undefined> {
    if (!(await objectExists(replicas.world, key(email)))) return undefined;
    const out = await replicas.world.admin.send(new GetObjectCommand({ Bucket: replicas.world.bucket, Key: key(email) }));
    return (JSON.parse((await out.Body?.transformToString()) ?? '{}') as { refresh_token?: string }).refresh_token;
  }

  /**
   * A user signed in on A whose session and credentials B holds too; Google now rotates refresh tokens and the
   * access token has expired, so B's next call refreshes.
   */
  async function rotatingUserOnBothReplicas(email: string): Promise<{ access_token: string; rt1: string }> {
    const { access_token } = await signIn(replicas.revoking, replicas.world, email);
    const rt1 = (await storedRefreshToken(email)) as string;
    expect((await getWithBearer(replicas.refreshing, GMAIL, access_token)).status).toBe(200); // B holds the session and credentials
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    return { access_token, rt1 };
  }

  /**
   * `email` signed in on A with rotation on; A's refresh rotated RT1 to RT2, but S3 refused (and keeps refusing) A's
   * write of it: S3 holds the dead RT1, RT2 lives in A's memory only. `puts` is the refusal, to remove.
   */
  async function successorUnwrittenOnRevoker(email: string) {
    const { access_token } = await signIn(replicas.revoking, replicas.world, email);
    const rt1 = (await storedRefreshToken(email)) as string;
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    const puts = replicas.s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault: 'reset', times: Infinity });
    expect((await getWithBearer(replicas.revoking, GMAIL, access_token)).status).toBe(200);
    expect(await storedRefreshToken(email)).toBe(rt1);
    return { access_token, rt1, puts };
  }

  function revokeOnA(accessToken: string): Promise<Response> {
    return fetch(`${replicas.revoking.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
  }

  /**
   * Neither replica keeps a refreshed token of `email` to write later. Once both requests are answered, that is the
   * only way S3 could still change: a refresh's write, the fence's revocation and delete, the revocation's own steps
   * are all awaited before the answer, and only a write that failed is retried in the background (RefreshWriteBack).
   * So S3 is final now, with no wait: what it holds cannot change after the check.
   */
  function expectNoWriteToCome(email: string): void {
    for (const replica of [replicas.revoking, replicas.refreshing]) expect(replica.app.get(RefreshWriteBack).get(email)).toBeUndefined();
  }

  /** No credentials in S3, and every refresh token issued after RT1 was sent to Google's revocation and is dead. */
  async function expectNothingOfTheGrantLeft(email: string, rt1: string): Promise<void> {
    expectNoWriteToCome(email);
    expect(await objectExists(replicas.world, key(email))).toBe(false);
    const issued = replicas.world.google.revocations.filter((t) => t !== rt1);
    expect(issued.length).toBeGreaterThan(0);
    for (const token of issued) expect(replicas.world.google.refreshTokenWorks(token)).toBe(false);
  }

  it('with rotation, a successor stored before the revocation mark is found by the revocation, revoked and deleted', async () => {
    const email = 'rotated-during-revoke@example.com';
    const { access_token, rt1 } = await rotatingUserOnBothReplicas(email);
    // A has read RT1; its mark is on its way to S3 (held) when B, still trusting its copy of the session, refreshes:
    // Google rotates RT1 to RT2 and B stores RT2 before the mark exists, so B cannot see it.
    const mark = replicas.s3.holdNext({ method: 'PUT', path: `/${replicas.world.bucket}/sessions/revoking/` });
    const revoking = revokeOnA(access_token);
    await mark.arrived;
    const onB = await getWithBearer(replicas.refreshing, GMAIL, access_token);
    expect(onB.status).toBe(200);
    const rt2 = await storedRefreshToken(email);
    expect(rt2).toBeDefined();
    expect(rt2).not.toBe(rt1);
    await mark.release();
    const res = await revoking;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: true });
    expect(await objectExists(replicas.world, key(email))).toBe(false);
    expect(replicas.world.google.refreshTokenWorks(rt1)).toBe(false);
    expect(replicas.world.google.refreshTokenWorks(rt2 as string)).toBe(false); // Google heard "unknown" for RT1, then RT2
    expect(replicas.world.google.revocations.slice(-2)).toEqual([rt1, rt2]);
  });

  it('with rotation, a successor written after the revocation read S3 revokes itself when it sees the mark', async () => {
    const email = 'rotated-after-read@example.com';
    const { access_token, rt1 } = await rotatingUserOnBothReplicas(email);
    // B's refresh is answered by Google at once, but its S3 write is held until A's revocation is past its own reads
    // (and its deletes)...
    const write = replicas.s3.holdNext({ method: 'PUT', path: credentialsKeyPath(email) });
    // ...and lands before the revocation clears its mark (one that lands after: docs/failure-model.md).
    const clear = replicas.s3.holdNext({ method: 'DELETE', path: `/${replicas.world.bucket}/sessions/revoking/` });
    const onB = getWithBearer(replicas.refreshing, GMAIL, access_token);
    await write.arrived; // Google rotated
    const revoking = revokeOnA(access_token);
    await clear.arrived; // all A has left to do is clearing its mark
    await write.release();
    const answered = await onB;
    expect(answered.status).toBe(401); // the refresh was revoked under it: sign in again
    expect(await answered.json()).toMatchObject({ statusCode: 401 });
    await clear.release();
    const res = await revoking;
    expect(res.status).toBe(200);
    await expectNothingOfTheGrantLeft(email, rt1);
  });

  it('with rotation, a successor written after the whole revocation finished is revoked too (the revocation time stays)', async () => {
    const email = 'rotated-after-revoke@example.com';
    const { access_token, rt1 } = await rotatingUserOnBothReplicas(email);
    // B's write of RT2 is held until A has revoked, deleted and cleared its mark.
    const write = replicas.s3.holdNext({ method: 'PUT', path: credentialsKeyPath(email) });
    const onB = getWithBearer(replicas.refreshing, GMAIL, access_token);
    await write.arrived; // Google rotated
    const res = await revokeOnA(access_token);
    expect(res.status).toBe(200);
    expect(await objectExists(replicas.world, `sessions/revoking/${email}.json`)).toBe(false); // finished
    await write.release();
    expect((await onB).status).toBe(401); // B re-created the object, found the revocation time, revoked RT2
    await expectNothingOfTheGrantLeft(email, rt1);
  });

  // Google no longer knows RT1 and S3, read again, still holds it: the successor is on its way to S3. It lands between
  // that read and the revocation's delete, and B reads the mark only once the revocation has cleared it. Before, the
  // delete, refused for the newer version, kept it as if it were a new sign-in, and nobody revoked RT2.
  it('with rotation, a successor landing just before the revocation\'s delete, whose replica reads the mark after it was cleared, is revoked too', async () => {
    const email = 'rotated-before-delete@example.com';
    const { access_token, rt1 } = await rotatingUserOnBothReplicas(email);
    const write = replicas.s3.holdNext({ method: 'PUT', path: credentialsKeyPath(email) });
    const onB = getWithBearer(replicas.refreshing, GMAIL, access_token);
    await write.arrived; // Google rotated RT1 to RT2; B's write of RT2 is held
    const deleting = replicas.s3.holdNext({ method: 'DELETE', path: credentialsKeyPath(email) });
    const revoking = revokeOnA(access_token);
    await deleting.arrived; // A: Google said it does not know RT1, S3 read again still holds RT1, A deletes that version
    const markRead = replicas.s3.holdNext({ method: 'GET', path: `/${replicas.world.bucket}/sessions/revoking/` });
    await write.release(); // RT2 lands first
    await markRead.arrived; // B, its successor written, looks for a revocation mark...
    await deleting.release(); // ...while A's delete meets the newer version, and A finishes
    const res = await revoking;
    expect(res.status).toBe(200);
    expect(await objectExists(replicas.world, `sessions/revoking/${email}.json`)).toBe(false);
    await markRead.release(); // B finds no mark
    await onB;
    expect(await storedRefreshToken(email)).toBeUndefined();
    await expectNothingOfTheGrantLeft(email, rt1);
  });

  // S3 refused the revoking replica's own write of the successor, which it keeps in memory and writes again: S3 holds
  // the dead RT1, and the revocation's delete makes the replica forget RT2. Before, RT2 was never sent to Google, and
  // the grant stayed live at Google (the app still connected in the person's Google account) after {"revoked":true}.
  it('with rotation, a successor the revoking replica itself holds unwritten (S3 refused the write) is revoked at Google too', async () => {
    const email = 'unwritten-on-revoker@example.com';
    const { access_token, rt1, puts } = await successorUnwrittenOnRevoker(email);
    expect(replicas.world.google.refreshTokenWorks(rt1)).toBe(false);
    const res = await revokeOnA(access_token);
    expect([res.status, await res.json()]).toEqual([200, { revoked: true }]);
    puts.remove();
    await expectNothingOfTheGrantLeft(email, rt1);
  });

  // The same, but S3 no longer holds the dead RT1 when the revocation reads it again after Google's "unknown": another
  // replica, which heard invalid_grant for RT1 and saw S3 keep it past its wait, deleted it meanwhile. The revoking
  // replica's RT2 is still the grant's only live token, and the delete makes the replica forget it: it must go to
  // Google first. Before, only an S3 object still holding RT1 led the revocation to it.
  it('with rotation, a successor the revoking replica holds unwritten is revoked at Google even when the dead RT1 was deleted from S3 meanwhile', async () => {
    const email = 'unwritten-on-revoker-deleted@example.com';
    const { access_token, rt1, puts } = await successorUnwrittenOnRevoker(email);
    // A's first read of the credentials is done once its mark is on its way; its next read is the one after Google.
    const mark = replicas.s3.holdNext({ method: 'PUT', path: `/${replicas.world.bucket}/sessions/revoking/` });
    const revoking = revokeOnA(access_token);
    await mark.arrived;
    const reread = replicas.s3.holdNext({ method: 'GET', path: credentialsKeyPath(email) });
    await mark.release();
    await reread.arrived; // Google said it does not know RT1
    await replicas.world.admin.send(new DeleteObjectCommand({ Bucket: replicas.world.bucket, Key: key(email) }));
    await reread.release();
    const res = await revoking;
    expect([res.status, await res.json()]).toEqual([200, { revoked: true }]);
    puts.remove();
    await expectNothingOfTheGrantLeft(email, rt1);
  });

  // The create that re-made the object lands, but S3's answer to it is lost: the SDK's retry, or the write kept in
  // memory and sent again, then finds the object holding the successor and updates it. That update must still count
  // as a re-creation: before, it did not, the revocation time went unread, and the revoked user's grant was back in S3
  // with a refresh token Google accepted.
  it.each([
    ['the SDK retry meets its own create', 1],
    ['every answer lost: written again in the background', 2],
  ])('with rotation, a successor whose re-creation after the revocation lost its answer (%s) is revoked too', async (_label, lost) => {
    const email = `recreated-answer-lost-${lost}@example.com`;
    const { access_token, rt1 } = await rotatingUserOnBothReplicas(email);
    const write = replicas.s3.holdNext({ method: 'PUT', path: credentialsKeyPath(email) });
    const onB = getWithBearer(replicas.refreshing, GMAIL, access_token);
    await write.arrived; // Google rotated
    expect((await revokeOnA(access_token)).status).toBe(200);
    expect(await objectExists(replicas.world, `sessions/revoking/${email}.json`)).toBe(false); // finished
    // B's held update (If-Match on the deleted version) is refused; its create of the object again is applied by S3,
    // and the answers to it (and, with 2, to the SDK's retry) never reach B.
    const dropped = replicas.s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault: 'drop-answer', times: lost });
    await write.release();
    await onB;
    expect(dropped.hits).toBe(lost);
    const started = Date.now();
    while ((await objectExists(replicas.world, key(email))) && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 50));
    expect(await storedRefreshToken(email)).toBeUndefined();
    await expectNothingOfTheGrantLeft(email, rt1);
  });

  it('without rotation, a refresh answered before the revocation and written after it does not re-create the credentials', async () => {
    const email = 'written-after-revoke@example.com';
    const { access_token } = await signIn(replicas.revoking, replicas.world, email);
    expect((await getWithBearer(replicas.refreshing, GMAIL, access_token)).status).toBe(200);
    replicas.world.google.expireAccessTokens(email);
    const held = replicas.world.google.holdNext('refresh');
    const onB = getWithBearer(replicas.refreshing, GMAIL, access_token);
    await held.arrived; // B read S3 and asked Google
    const read = replicas.s3.holdNext({ method: 'GET', path: credentialsKeyPath(email) }); // B's write's read, sent to S3 once A is done
    held.release(); // Google answers B with a fresh access token: the grant was still alive
    await read.arrived;
    const res = await revokeOnA(access_token);
    expect(res.status).toBe(200);
    expect(await objectExists(replicas.world, key(email))).toBe(false);
    await read.release();
    expect((await onB).status).toBe(401);
    expectNoWriteToCome(email);
    expect(await objectExists(replicas.world, key(email))).toBe(false); // B's late write did not bring them back
  });
});
