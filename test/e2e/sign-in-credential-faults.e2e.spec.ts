import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import type { Fault } from '../support/fault-proxy.js';
import { Browser } from '../support/http-client.js';
import { authorizeInBrowser, pkceRequest, authorizeUrl, registerPublicClient } from '../support/oauth-consent.js';
import { completeSignIn, credentialsKeyPath, getWithBearer, readObject, signIn, startSignIn } from '../support/harness.js';

const S3_TIMEOUT_MS = 1500;

/**
 * The sign-in callback's write of the user's Google credentials, with S3 failing the way it does in production
 * (stalled, 503, applied but the answer lost). A refresh token Google has just issued exists nowhere else: when the
 * service could not store it, the person's retry must end with a refresh token in S3 that Google honours, not with
 * the dead one the failed write should have replaced.
 */
describe('Sign-in: the credentials write under S3 faults', () => {
  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) });

  const storedRefreshToken = async (email: string) => (await readObject(app.world, `credentials/${email}.json`)).json.refresh_token as string;

  /** Runs a sign-in in `browser` up to the callback, with `fault` on every write of the user's credentials. */
  async function callbackWithFault(email: string, browser: Browser, fault: Fault, status?: number): Promise<{ res: Response; elapsed: number }> {
    const callbackUrl = await app.world.google.approve(await startSignIn(app.sut, browser, email), { email });
    app.s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault, times: Infinity, ...(status ? { status, body: '<Error><Code>ServiceUnavailable</Code></Error>', contentType: 'application/xml' } : {}) });
    const started = Date.now();
    const res = await browser.get(callbackUrl);
    const elapsed = Date.now() - started;
    app.s3.clear();
    return { res, elapsed };
  }

  /** A signed-in user whose grant the person then removed at Google (the stored refresh token is dead). */
  async function userWithDeadStoredToken(email: string): Promise<string> {
    await signIn(app.sut, app.world, email);
    const dead = await storedRefreshToken(email);
    app.world.google.revokeUser(email);
    expect(app.world.google.refreshTokenWorks(dead)).toBe(false);
    return dead;
  }

  const unstoredCases: Array<[string, Fault, number | undefined]> = [
    ['S3 answers 503', 'answer', 503],
    ['S3 stalls', 'stall', undefined],
  ];

  it.each(unstoredCases)('a new refresh token for a known user that was not stored (%s): 503 saying to retry, and the retry stores a live refresh token', async (_label, fault, status) => {
    const email = `regrant-${fault}@example.com`;
    const dead = await userWithDeadStoredToken(email);
    const browser = new Browser();
    const { res, elapsed } = await callbackWithFault(email, browser, fault, status);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ statusCode: 503, error: 'storage_unavailable', message: expect.stringContaining('S3') });
    expect(elapsed).toBeLessThan(2 * S3_TIMEOUT_MS + 1500);
    expect(await storedRefreshToken(email)).toBe(dead); // what the failed write should have replaced

    // The person starts again, in the same browser (the error page's link). Google remembers the grant it just gave
    // and, asked without prompt=consent, sends no new refresh token: the service must ask for one.
    const retry = await completeSignIn(app.sut, app.world, email, browser);
    expect(retry.status).toBe(200);
    const stored = await storedRefreshToken(email);
    expect(app.world.google.refreshTokenWorks(stored)).toBe(true);
    const { access_token } = (await retry.json()) as { access_token: string };
    expect((await getWithBearer(app.sut, '/auth/session', access_token)).status).toBe(200);
  });

  // Google issued the refresh token (the code exchange answered), then failed the userinfo call: the token was never
  // the service's to store. Before, the retry went without the consent screen, brought no refresh token and kept the
  // dead one: signed in, until the first refresh ended the sessions.
  it('a new refresh token for a known user lost because Google failed the userinfo call after the code exchange: 502, and the retry stores a live refresh token', async () => {
    const email = 'regrant-userinfo@example.com';
    const dead = await userWithDeadStoredToken(email);
    const browser = new Browser();
    const callbackUrl = await app.world.google.approve(await startSignIn(app.sut, browser, email), { email });
    app.world.google.failNext('userinfo', 'server_error');
    const res = await browser.get(callbackUrl);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ statusCode: 502, error: 'google_unavailable' });
    expect(await storedRefreshToken(email)).toBe(dead);
    const retry = await completeSignIn(app.sut, app.world, email, browser);
    expect(retry.status).toBe(200);
    expect(app.world.google.refreshTokenWorks(await storedRefreshToken(email))).toBe(true);
  });

  it('asks for consent only once: a sign-in after the stored one succeeded goes through without the consent screen', async () => {
    const email = 'regrant-once@example.com';
    await userWithDeadStoredToken(email);
    const browser = new Browser();
    await callbackWithFault(email, browser, 'answer', 503);
    expect((await completeSignIn(app.sut, app.world, email, browser)).status).toBe(200);
    const location = await startSignIn(app.sut, browser, email);
    expect(new URL(location).searchParams.get('prompt')).toBeNull();
  });

  it('a new refresh token whose write S3 applied but whose answer was lost: 503, and the retry keeps the live token', async () => {
    const email = 'regrant-lost@example.com';
    await userWithDeadStoredToken(email);
    const browser = new Browser();
    const { res } = await callbackWithFault(email, browser, 'drop-answer');
    expect(res.status).toBe(503);
    const applied = await storedRefreshToken(email);
    expect(app.world.google.refreshTokenWorks(applied)).toBe(true);
    const retry = await completeSignIn(app.sut, app.world, email, browser);
    expect(retry.status).toBe(200);
    expect(app.world.google.refreshTokenWorks(await storedRefreshToken(email))).toBe(true);
  });

  it('a first sign-in whose credentials write failed: 503, and the retry stores a live refresh token', async () => {
    const email = 'first-unstored@example.com';
    const browser = new Browser();
    const { res } = await callbackWithFault(email, browser, 'answer', 503);
    expect(res.status).toBe(503);
    const retry = await completeSignIn(app.sut, app.world, email, browser);
    expect(retry.status).toBe(200);
    expect(app.world.google.refreshTokenWorks(await storedRefreshToken(email))).toBe(true);
  });

  it('an OAuth client\'s sign-in whose new refresh token was not stored: the error, then the retry stores a live refresh token', async () => {
    const email = 'regrant-oauth@example.com';
    await userWithDeadStoredToken(email);
    const redirectUri = 'http://127.0.0.1:8765/callback';
    const clientId = await registerPublicClient(app.sut, { redirect_uris: [redirectUri], client_name: 'retry app' });
    const browser = new Browser();
    app.s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault: 'answer', status: 503, times: Infinity });
    const failed = await authorizeInBrowser(app.world, authorizeUrl(app.sut.url, (await pkceRequest(clientId, redirectUri)).params), email, { browser });
    expect(failed.stoppedAt?.status).toBe(503);
    app.s3.clear();
    const retry = await authorizeInBrowser(app.world, authorizeUrl(app.sut.url, (await pkceRequest(clientId, redirectUri)).params), email, { browser });
    expect(retry.location?.searchParams.get('code')).toEqual(expect.any(String));
    expect(app.world.google.refreshTokenWorks(await storedRefreshToken(email))).toBe(true);
  });

  it('S3 going silent once the code was exchanged: the callback answers 503 within about S3_TIMEOUT_MS, not a multiple', async () => {
    const email = 'silent-after-exchange@example.com';
    const browser = new Browser();
    const callbackUrl = await app.world.google.approve(await startSignIn(app.sut, browser, email), { email });
    const started = Date.now();
    // The credentials write is the one that goes unanswered, and so is every S3 call after it. Made silent by a rule
    // set beforehand: turning the black hole on once the write was seen raced the proxy's forwarding of that write
    // (on Ceph RGW in CI the write sometimes went through, and the callback answered 200 or only after a later call).
    app.s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault: 'stall', times: Infinity });
    const pending = browser.get(callbackUrl);
    let write: { at: number } | undefined;
    while (!(write = app.s3.seen('PUT', credentialsKeyPath(email)).find((r) => r.at >= started))) await new Promise((r) => setTimeout(r, 5));
    app.s3.blackhole(true);
    // Timed from the moment S3 went silent: what happened before (Google's exchange, the session writes, the
    // credentials read of the conditional write) took its normal time, and Ceph's round trips in CI are slower.
    const silentAt = write.at;
    const res = await pending;
    const elapsed = Date.now() - silentAt;
    app.s3.blackhole(false);
    expect(res.status).toBe(503);
    console.log(`callback answered ${elapsed} ms after S3 went silent (S3_TIMEOUT_MS ${S3_TIMEOUT_MS}; ${Date.now() - started} ms in all)`);
    // The write's S3_TIMEOUT_MS, then at most REOPEN_WAIT_MS (1 s, auth.controller.ts) for reopening the sign-in so
    // the person can retry, whose S3 call is silent too: about 2500 ms. Under two S3_TIMEOUT_MS: a retried write (a
    // multiple) would need 2x before the reopen.
    expect(elapsed).toBeGreaterThanOrEqual(S3_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(2 * S3_TIMEOUT_MS);
  });

  it('a failed callback answers a person\'s browser with the error page and its "start again" link, not a 500', async () => {
    const email = 'regrant-page@example.com';
    await userWithDeadStoredToken(email);
    const browser = new Browser();
    const callbackUrl = await app.world.google.approve(await startSignIn(app.sut, browser, email), { email });
    app.s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault: 'answer', status: 503, times: Infinity });
    const res = await browser.get(callbackUrl, { accept: 'text/html' });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('id="start-again"');
  });
});
