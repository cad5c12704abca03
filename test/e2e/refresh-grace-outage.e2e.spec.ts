import { FaultProxy } from '../support/fault-proxy.js';
import { credentialsKeyPath, getWithBearer, readObject, type Service, signIn, startService, startWorld, type World } from '../support/harness.js';

const GMAIL = '/v1/users/me/gmail/messages';
const S3_TIMEOUT_MS = 1000;
/** DeadGrantGrace's wait: 2 x S3_TIMEOUT_MS + 2 s. */
const GRACE_MS = 2 * S3_TIMEOUT_MS + 2000;

/**
 * Replica A rotated a grant while S3 refused its write; replica B hears invalid_grant for the old refresh token and
 * waits for the successor to reach S3. When S3 stops answering B too for most of that wait (an outage of the bucket,
 * not of one replica's path), the successor cannot land meanwhile: B must not count that time, or it deletes the
 * grant's object and ends every session of the user the moment S3 is back, before A's write can land.
 *
 * Each replica reaches S3 through a proxy of its own, so the test fails B's reads and A's writes separately.
 */
describe('an S3 outage during the wait for a rotated token does not use up the wait', () => {
  let world: World;
  let toS3A: FaultProxy;
  let toS3B: FaultProxy;
  let a: Service;
  let b: Service;

  beforeAll(async () => {
    world = await startWorld();
    toS3A = await FaultProxy.start(world.s3.endpoint);
    toS3B = await FaultProxy.start(world.s3.endpoint);
    a = await startService(world, { S3_ENDPOINT: toS3A.url, S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) });
    b = await startService(world, { S3_ENDPOINT: toS3B.url, S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await toS3A?.stop();
    await toS3B?.stop();
    await world?.close();
  });

  it('S3 down for B for most of the wait, then back for B before A\'s write lands: B keeps the grant and every session', async () => {
    const email = 'grace-outage@example.com';
    const path = credentialsKeyPath(email);
    const onA = await signIn(a, world, email);
    const onB = await signIn(b, world, email); // a second session of the same user
    world.google.rotateRefreshTokens(true);
    world.google.expireAccessTokens(email);
    const puts = toS3A.inject({ method: 'PUT', path, fault: 'reset', times: Infinity });
    expect((await getWithBearer(a, GMAIL, onA.access_token)).status).toBe(200); // RT1 -> RT2, kept in A's memory only
    world.google.expireAccessTokens(email);
    const refresh = world.google.holdNext('refresh');
    const call = getWithBearer(b, GMAIL, onB.access_token);
    await refresh.arrived; // B read RT1 from S3 and asked Google
    const reread = toS3B.holdNext({ method: 'GET', path }); // B's read after Google's invalid_grant: S3 still holds RT1
    const gets = toS3B.inject({ method: 'GET', path, fault: 'reset', times: Infinity });
    refresh.release();
    await reread.arrived;
    await reread.release(); // the wait starts; every read of it fails from now on
    await new Promise((r) => setTimeout(r, GRACE_MS - 1000));
    gets.remove(); // S3 answers B again, still with RT1...
    await new Promise((r) => setTimeout(r, 1500));
    puts.remove(); // ...and A's next attempt writes RT2
    const res = await call;
    expect(res.status).toBe(200);
    for (const session of [onA, onB]) expect((await getWithBearer(b, '/auth/session', session.access_token)).status).toBe(200);
    expect(world.google.refreshTokenWorks((await readObject(world, `credentials/${email}.json`)).json.refresh_token as string)).toBe(true);
  }, 30_000);
});
