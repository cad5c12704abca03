import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import type { FaultProxy, HeldRequest } from '../support/fault-proxy.js';
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
    await until(() => puts.hits >= 2); // a refused background attempt: RT2 is in A's memory only
    replicas.world.google.rotateRefreshTokens(false); // Google answers the next refresh without a refresh_token
    replicas.world.google.expireAccessTokens(email);
    const held = replicas.world.google.holdNext('refresh');
    const call = getWithBearer(replicas.proxied, GMAIL, access_token); // refreshes from the unwritten RT2
    await held.arrived;
    // The background attempts write RT2 too: one landing before the refresh's own write would pass this test
    // whatever that write holds. Every one of them is kept at the proxy, never sent to S3, and only the refresh's is
    // let through. While Google holds the refresh, a PUT can only be a background attempt's: it names their token.
    const backgroundWrites = new BackgroundWrites(replicas.s3, keyPath(email));
    puts.remove();
    const backgroundToken = await backgroundWrites.first();
    expect(backgroundToken).toEqual(expect.any(String));
    held.release();
    expect(await backgroundWrites.releaseFirstOtherThan(backgroundToken)).toBe(200); // the refresh's own write: a new access token
    expect((await call).status).toBe(200);
    replicas.s3.clear(); // the kept background PUTs are dropped unsent; the holds set for more are gone
    await expectGrantKept(email, access_token);
  }, 30_000);
});

/** The access token a PUT of the credentials object carries. */
function tokenIn(body: Buffer): string | undefined {
  return /"token":"([^"]+)"/.exec(body.toString('utf8'))?.[1];
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 10));
}

/**
 * Keeps every PUT of one key at the proxy (two holds set at all times, so none slips past between one's arrival and
 * the next hold), until released; those never released are dropped unsent when the test's proxy is cleared.
 */
class BackgroundWrites {
  private readonly holds: HeldRequest[] = [];

  constructor(private readonly proxy: FaultProxy, private readonly path: RegExp) {
    this.holds.push(this.hold(), this.hold());
  }

  /** The access token of the next PUT, kept. */
  async first(): Promise<string | undefined> {
    return tokenIn((await this.next()).body);
  }

  /** Keeps PUTs carrying `token`; sends the first that does not upstream and answers S3's status. */
  async releaseFirstOtherThan(token: string | undefined): Promise<number> {
    for (;;) {
      const { held, body } = await this.next();
      if (tokenIn(body) !== token) return (await held.release()).status;
    }
  }

  private hold(): HeldRequest {
    return this.proxy.holdNext({ method: 'PUT', path: this.path });
  }

  private async next(): Promise<{ held: HeldRequest; body: Buffer }> {
    const held = this.holds.shift()!;
    this.holds.push(this.hold());
    return { held, body: (await held.arrived).body };
  }
}
