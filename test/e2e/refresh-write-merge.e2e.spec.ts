import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { FaultProxy } from '../support/fault-proxy.js';
import { credentialsKeyPath, getWithBearer, type Service, signIn, startService, startWorld, type World } from '../support/harness.js';

const GMAIL = '/v1/users/me/gmail/messages';
const key = (email: string) => `credentials/${email}.json`;
const keyPath = credentialsKeyPath;

/**
 * What a refresh writes into the credentials object when S3 does not hold the refresh token the refresh came from:
 * an object whose `refresh_token` is missing (hand-edited, or written by another tool), or one still holding a dead
 * ancestor while this replica's rotated successor waits to be written. The refresh token Google honoured must end
 * up in S3 either way; otherwise the user signs in again although the grant works.
 */
describe('a refresh writes the refresh token it used, whatever S3 holds meanwhile', () => {
  let world: World;
  let s3Proxy: FaultProxy;
  let a: Service; // its S3 calls go through the proxy
  let b: Service;

  beforeAll(async () => {
    world = await startWorld();
    s3Proxy = await FaultProxy.start(world.s3.endpoint);
    a = await startService(world, { S3_ENDPOINT: s3Proxy.url, S3_TIMEOUT_MS: '2000' });
    b = await startService(world, { S3_TIMEOUT_MS: '2000' });
  });
  afterEach(() => {
    world.google.rotateRefreshTokens(false);
    s3Proxy.clear();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await s3Proxy?.stop();
    await world?.close();
  });

  async function stored(email: string): Promise<Record<string, unknown>> {
    const out = await world.admin.send(new GetObjectCommand({ Bucket: world.bucket, Key: key(email) }));
    return JSON.parse((await out.Body?.transformToString()) ?? '{}') as Record<string, unknown>;
  }

  /** An operator (or another tool) rewrites the object without its refresh token. */
  async function dropRefreshToken(email: string): Promise<void> {
    const { refresh_token: _dropped, ...rest } = await stored(email);
    await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key(email), Body: JSON.stringify(rest), ContentType: 'application/json' }));
  }

  /** S3 holds a refresh token Google accepts, and both replicas refresh from it once Google expires the access tokens. */
  async function expectGrantKept(email: string, bearer: string): Promise<void> {
    expect(world.google.refreshTokenWorks(String((await stored(email)).refresh_token))).toBe(true);
    world.google.expireAccessTokens(email);
    for (const service of [b, a]) expect((await getWithBearer(service, GMAIL, bearer)).status).toBe(200);
    expect(world.google.refreshTokenWorks(String((await stored(email)).refresh_token))).toBe(true);
  }

  for (const rotation of [true, false]) {
    it(`${rotation ? 'with' : 'without'} rotation, an object that lost its refresh_token during the refresh gets the live one`, async () => {
      const email = `no-rt-${rotation ? 'rotating' : 'kept'}@example.com`;
      const { access_token } = await signIn(a, world, email);
      world.google.rotateRefreshTokens(rotation);
      world.google.expireAccessTokens(email);
      const held = world.google.holdNext('refresh');
      const call = getWithBearer(a, GMAIL, access_token); // A read S3 and asked Google: held there
      await held.arrived;
      await dropRefreshToken(email);
      held.release();
      expect((await call).status).toBe(200);
      await expectGrantKept(email, access_token);
    });
  }

  it('a refresh without rotation from an unwritten rotated token writes that token, not the dead one S3 still holds', async () => {
    const email = 'stale-ancestor@example.com';
    const { access_token } = await signIn(a, world, email);
    const first = String((await stored(email)).refresh_token);
    world.google.rotateRefreshTokens(true);
    world.google.expireAccessTokens(email);
    const puts = s3Proxy.inject({ method: 'PUT', path: keyPath(email), fault: 'reset', times: Infinity });
    expect((await getWithBearer(a, GMAIL, access_token)).status).toBe(200); // RT1 -> RT2, kept in A's memory
    expect(world.google.refreshTokenWorks(first)).toBe(false);
    // Three refused background attempts (two PUTs each): the next ones are at least 750 ms apart.
    while (puts.hits < 6) await new Promise((r) => setTimeout(r, 50));
    world.google.rotateRefreshTokens(false); // Google answers the next refresh without a refresh_token
    world.google.expireAccessTokens(email);
    const held = world.google.holdNext('refresh');
    const call = getWithBearer(a, GMAIL, access_token); // refreshes from the unwritten RT2
    await held.arrived;
    // Right after a refused background attempt, S3 takes writes again: the refresh's own write comes first.
    const before = puts.hits;
    while (puts.hits < before + 2) await new Promise((r) => setTimeout(r, 5));
    puts.remove();
    held.release();
    expect((await call).status).toBe(200);
    await expectGrantKept(email, access_token);
  }, 30_000);
});
