import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { credentialsKeyPath, getWithBearer, signIn } from '../support/harness.js';

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
  const replicas = useReplicasBehindS3Proxy({
    proxied: { throughProxy: true, env: { S3_TIMEOUT_MS: '2000' } }, // A in the test names: its S3 calls go through the proxy
    direct: { env: { S3_TIMEOUT_MS: '2000' } }, // B
  });

  async function stored(email: string): Promise<Record<string, unknown>> {
    const out = await replicas.world.admin.send(new GetObjectCommand({ Bucket: replicas.world.bucket, Key: key(email) }));
    return JSON.parse((await out.Body?.transformToString()) ?? '{}') as Record<string, unknown>;
  }

  /** An operator (or another tool) rewrites the object without its refresh token. */
  async function dropRefreshToken(email: string): Promise<void> {
    const { refresh_token: _dropped, ...rest } = await stored(email);
    await replicas.world.admin.send(new PutObjectCommand({ Bucket: replicas.world.bucket, Key: key(email), Body: JSON.stringify(rest), ContentType: 'application/json' }));
  }

  /** S3 holds a refresh token Google accepts, and both replicas refresh from it once Google expires the access tokens. */
  async function expectGrantKept(email: string, bearer: string): Promise<void> {
    expect(replicas.world.google.refreshTokenWorks(String((await stored(email)).refresh_token))).toBe(true);
    replicas.world.google.expireAccessTokens(email);
    for (const service of [replicas.direct, replicas.proxied]) expect((await getWithBearer(service, GMAIL, bearer)).status).toBe(200);
    expect(replicas.world.google.refreshTokenWorks(String((await stored(email)).refresh_token))).toBe(true);
  }

  for (const rotation of [true, false]) {
    it(`${rotation ? 'with' : 'without'} rotation, an object that lost its refresh_token during the refresh gets the live one`, async () => {
      const email = `no-rt-${rotation ? 'rotating' : 'kept'}@example.com`;
      const { access_token } = await signIn(replicas.proxied, replicas.world, email);
      replicas.world.google.rotateRefreshTokens(rotation);
      replicas.world.google.expireAccessTokens(email);
      const held = replicas.world.google.holdNext('refresh');
      const call = getWithBearer(replicas.proxied, GMAIL, access_token); // A read S3 and asked Google: held there
      await held.arrived;
      await dropRefreshToken(email);
      held.release();
      expect((await call).status).toBe(200);
      await expectGrantKept(email, access_token);
    });
  }

  it('a refresh without rotation from an unwritten rotated token writes that token, not the dead one S3 still holds', async () => {
    const email = 'stale-ancestor@example.com';
    const { access_token } = await signIn(replicas.proxied, replicas.world, email);
    const first = String((await stored(email)).refresh_token);
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    const puts = replicas.s3.inject({ method: 'PUT', path: keyPath(email), fault: 'reset', times: Infinity });
    expect((await getWithBearer(replicas.proxied, GMAIL, access_token)).status).toBe(200); // RT1 -> RT2, kept in A's memory
    expect(replicas.world.google.refreshTokenWorks(first)).toBe(false);
    // Three refused background attempts (two PUTs each): the next ones are at least 750 ms apart.
    while (puts.hits < 6) await new Promise((r) => setTimeout(r, 50));
    replicas.world.google.rotateRefreshTokens(false); // Google answers the next refresh without a refresh_token
    replicas.world.google.expireAccessTokens(email);
    const held = replicas.world.google.holdNext('refresh');
    const call = getWithBearer(replicas.proxied, GMAIL, access_token); // refreshes from the unwritten RT2
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
