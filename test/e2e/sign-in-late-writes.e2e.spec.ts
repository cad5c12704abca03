import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import type { HeldRequest, ProxiedRequest } from '../support/fault-proxy.js';
import { Browser } from '../support/http-client.js';
import { completeSignIn, credentialsKeyPath, getWithBearer, objectExists, postToken, readObject, signIn, type SignedIn, startSignIn } from '../support/harness.js';

const S3_TIMEOUT_MS = 2000;
const GMAIL = '/v1/users/me/gmail/messages';

/**
 * A sign-in's credentials PUT that S3 applies after the service gave up on it (the callback answered 503): the PUT
 * sat in the network or in an overloaded S3 front end, and arrives later. By then another writer may have changed
 * the object (a newer sign-in of the same user, a revocation). The write is conditional on what the sign-in read,
 * so S3 refuses it instead of putting the older grant back (DESIGN, "Data in S3": If-Match on the ETag read).
 */
describe('Sign-in: a credentials write S3 applies after the service gave up on it', () => {
  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) });

  const key = (email: string) => `credentials/${email}.json`;
  const storedRefreshToken = async (email: string) => (await readObject(app.world, key(email))).json.refresh_token as string;

  /**
   * A signed-in user who then removed the app at Google and signs in again (so Google issues a new refresh token),
   * with that sign-in's credentials PUT held at the proxy: the callback answers 503 once S3_TIMEOUT_MS passed and
   * the service closed the request. Returns the first session, the browser and the held PUT with its refresh token.
   */
  async function signInWhosePutIsHeld(email: string): Promise<{ first: SignedIn; browser: Browser; held: HeldRequest; heldRefreshToken: string }> {
    const first = await signIn(app.sut, app.world, email);
    app.world.google.revokeUser(email);
    const browser = new Browser();
    const callbackUrl = await app.world.google.approve(await startSignIn(app.sut, browser, email), { email });
    const held = app.s3.holdNext({ method: 'PUT', path: credentialsKeyPath(email) });
    const res = await browser.get(callbackUrl);
    expect(res.status).toBe(503);
    const { request, body } = await held.arrived;
    await gaveUp(request);
    expect(request.forwarded).toBe(false);
    const heldRefreshToken = (JSON.parse(body.toString('utf8')) as { refresh_token: string }).refresh_token;
    expect(heldRefreshToken).toEqual(expect.any(String));
    return { first, browser, held, heldRefreshToken };
  }

  it('a newer sign-in stored meanwhile keeps its refresh token: S3 refuses the late PUT (412), and API calls go on with the newer grant', async () => {
    const email = 'late-put-superseded@example.com';
    const { browser, held, heldRefreshToken } = await signInWhosePutIsHeld(email);

    // The person starts again from the error page (same browser: the service asks Google for consent). Google
    // issues a newer refresh token and, as it does for consumer accounts on a new consent, drops the older one.
    app.world.google.rotateRefreshTokens(true);
    const retry = await completeSignIn(app.sut, app.world, email, browser).finally(() => app.world.google.rotateRefreshTokens(false));
    expect(retry.status).toBe(200);
    const { access_token } = (await retry.json()) as SignedIn;
    const newer = await storedRefreshToken(email);
    expect(newer).not.toBe(heldRefreshToken);
    expect(app.world.google.refreshTokenWorks(newer)).toBe(true);
    expect(app.world.google.refreshTokenWorks(heldRefreshToken)).toBe(false);

    const late = await held.release();
    expect(late.status).toBe(412);
    expect(await storedRefreshToken(email)).toBe(newer);

    // The API works from what S3 holds: once Google expired the access token, the service refreshes with the
    // stored refresh token (a dead one would end in 401 and a new sign-in).
    expect((await getWithBearer(app.sut, GMAIL, access_token)).status).toBe(200);
    app.world.google.expireAccessTokens(email);
    const afterExpiry = await getWithBearer(app.sut, GMAIL, access_token);
    expect(afterExpiry.status).toBe(200);
    expect(await storedRefreshToken(email)).toBe(newer);
  });

  it('a revocation done meanwhile stays done: the late PUT does not re-create the credentials', async () => {
    const email = 'late-put-revoked@example.com';
    const { first, held } = await signInWhosePutIsHeld(email);

    const revoked = await postToken(app.sut, '/auth/revoke', first.access_token);
    expect(revoked.status).toBe(200);
    expect(await objectExists(app.world, key(email))).toBe(false);

    const late = await held.release();
    // S3 refuses a write conditional on a version that is gone: 412 (AWS, Ceph) or 404 NoSuchKey (the test server).
    expect([404, 412]).toContain(late.status);
    expect(await objectExists(app.world, key(email))).toBe(false);
  });
});

/** Waits until the service closed its held request (its S3 call ended at S3_TIMEOUT_MS). */
async function gaveUp(request: ProxiedRequest): Promise<void> {
  const deadline = Date.now() + 5000;
  while (request.clientClosedAt === undefined) {
    if (Date.now() > deadline) throw new Error('the service never gave up on the held PUT');
    await new Promise((r) => setTimeout(r, 10));
  }
}
