import { FaultProxy, type ProxiedRequest } from '../support/fault-proxy.js';
import { Browser } from '../support/http-client.js';
import { tokensThroughOAuth } from '../support/oauth-consent.js';
import { completeSignIn, getWithBearer, objectExists, readObject, Service, signIn, startService, startSignIn, startWorld, World } from '../support/harness.js';

const GOOGLE_TIMEOUT_MS = 1500;
const S3_TIMEOUT_MS = 1500;

/**
 * The browser sign-in with S3 and Google each behind a fault-injecting proxy: which dependency failed is named,
 * a code Google refuses is the caller's 400, and lost S3 answers do not turn into "already used".
 */
describe('Sign-in under faults', () => {
  let world: World;
  let s3: FaultProxy;
  let google: FaultProxy;
  let sut: Service;

  beforeAll(async () => {
    world = await startWorld();
    s3 = await FaultProxy.start(world.s3.endpoint);
    google = await FaultProxy.start(world.google.baseUrl);
    sut = await startService(world, {
      S3_ENDPOINT: s3.url,
      S3_TIMEOUT_MS: String(S3_TIMEOUT_MS),
      GOOGLE_TOKEN_URL: google.rewrite(world.google.urls.token),
      GOOGLE_USERINFO_URL: google.rewrite(world.google.urls.userinfo),
      GOOGLE_HTTP_TIMEOUT_MS: String(GOOGLE_TIMEOUT_MS),
    });
  });
  afterEach(() => {
    s3.clear();
    google.clear();
  });
  afterAll(async () => {
    await sut?.close();
    await s3?.stop();
    await google?.stop();
    await world?.close();
  });

  /** Starts a sign-in in a browser and approves it at Google; returns the browser and the callback URL. */
  async function approved(email: string, browser = new Browser()): Promise<{ browser: Browser; callbackUrl: string }> {
    const location = await startSignIn(sut, browser, email);
    return { browser, callbackUrl: await world.google.approve(location, { email }) };
  }

  /** Waits until the proxy saw the client give up on the request (its socket closed). */
  async function clientClosed(entry: ProxiedRequest | undefined, withinMs = 2000): Promise<boolean> {
    const until = Date.now() + withinMs;
    while (Date.now() < until) {
      if (entry?.clientClosedAt !== undefined) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return entry?.clientClosedAt !== undefined;
  }

  describe('no enumeration through login_hint', () => {
    it('answers /auth/google alike for a known and an unknown user, and asks S3 nothing', async () => {
      await signIn(sut, world, 'known@example.com'); // a refresh token is stored for this one
      const seenBefore = s3.requests.length;
      const ask = (hint: string) => fetch(`${sut.url}/auth/google?login_hint=${encodeURIComponent(hint)}`, { redirect: 'manual' });
      const known = await ask('known@example.com');
      const unknown = await ask('nobody@example.com');
      expect(s3.requests.length).toBe(seenBefore);

      // Everything but the hint itself and the per-flow random values (state, PKCE challenge, cookie) is the same.
      const shape = async (res: Response) => {
        const location = new URL(res.headers.get('location') ?? '');
        for (const p of ['login_hint', 'state', 'code_challenge']) location.searchParams.delete(p);
        const headers = [...res.headers.entries()].filter(([k]) => !['date', 'x-request-id', 'location', 'set-cookie'].includes(k));
        const cookies = res.headers.getSetCookie().map((c) => c.replace(/^[^=]+=[^;]*/, 'NAME=VALUE'));
        return { status: res.status, location: location.toString(), headers, cookies, body: await res.text() };
      };
      expect(await shape(known)).toEqual(await shape(unknown));
      expect(known.status).toBe(302);
      expect(new URL(known.headers.get('location') ?? '').searchParams.has('prompt')).toBe(false);
    });
  });

  describe('a code Google refuses (invalid_grant) is the caller\'s 400', () => {
    it('refuses an attacker\'s code pasted into the victim\'s callback, and stores nothing', async () => {
      const victim = new Browser();
      const victimState = new URL(await startSignIn(sut, victim, 'victim@example.com')).searchParams.get('state') ?? '';
      // The attacker signs in with their own account and keeps the code instead of using it.
      const { callbackUrl: attackersCallback } = await approved('attacker@example.com');
      const forged = new URL(`${sut.url}/auth/google/callback`);
      forged.searchParams.set('code', new URL(attackersCallback).searchParams.get('code') ?? '');
      forged.searchParams.set('state', victimState);

      const res = await victim.get(forged.toString());
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ statusCode: 400, error: 'invalid_grant', message: expect.stringContaining('start again at /auth/google') });
      expect(await objectExists(world, 'credentials/victim@example.com.json')).toBe(false);
      expect(await objectExists(world, 'credentials/attacker@example.com.json')).toBe(false);
    });

    it('answers 400, not "already used", when the browser retries a callback whose code was already exchanged', async () => {
      const { browser, callbackUrl } = await approved('retry@example.com');
      // The code is exchanged, then storing the credentials fails: S3 resets every PUT of them.
      s3.inject({ method: 'PUT', path: /\/credentials\//, fault: 'reset', times: Infinity });
      const first = await browser.get(callbackUrl);
      expect(first.status).toBe(503);
      expect(await first.json()).toMatchObject({ statusCode: 503, error: 'storage_unavailable', message: expect.stringContaining('S3') });
      s3.clear();
      const again = await browser.get(callbackUrl);
      expect(again.status).toBe(400);
      expect(await again.json()).toEqual({ statusCode: 400, error: 'invalid_grant', message: expect.stringContaining('start again at /auth/google') });
    });
  });

  describe('a Google outage at the exchange stays 502', () => {
    it('502 when Google answers the code exchange with a 5xx', async () => {
      const { browser, callbackUrl } = await approved('outage@example.com');
      world.google.failNext('token', 'server_error');
      const res = await browser.get(callbackUrl);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ statusCode: 502, message: expect.stringContaining('/auth/google') });
    });

    it('502 when the connection to Google is reset', async () => {
      const { browser, callbackUrl } = await approved('reset@example.com');
      google.inject({ method: 'POST', path: '/token', fault: 'reset' });
      const res = await browser.get(callbackUrl);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ statusCode: 502, error: 'google_unavailable', message: expect.stringContaining('/auth/google') });
    });

    // Google exchanged the code (issuing a refresh token) but its answer never arrived. The person had removed the
    // grant at Google, so the stored refresh token is dead; before, the retry went without the consent screen,
    // brought no refresh token, and kept the dead one.
    it('an exchange whose answer was lost after Google issued a refresh token: 502, and the retry stores a live one', async () => {
      const email = 'exchange-answer-lost@example.com';
      await signIn(sut, world, email);
      const storedToken = async () => (await readObject(world, `credentials/${email}.json`)).json.refresh_token as string;
      const dead = await storedToken();
      world.google.revokeUser(email);
      const { browser, callbackUrl } = await approved(email);
      google.inject({ method: 'POST', path: '/token', fault: 'drop-answer' });
      const res = await browser.get(callbackUrl);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ statusCode: 502, error: 'google_unavailable' });
      expect(await storedToken()).toBe(dead);
      expect((await completeSignIn(sut, world, email, browser)).status).toBe(200);
      expect(world.google.refreshTokenWorks(await storedToken())).toBe(true);
    });

    it.each([
      ['the code exchange', 'POST', '/token'],
      ['the userinfo call', 'GET', '/v1/userinfo'],
    ])('502 within the timeout when Google stalls on %s, and the request is really cancelled', async (_what, method, path) => {
      const { browser, callbackUrl } = await approved(`stall-${method.toLowerCase()}@example.com`);
      google.inject({ method, path, fault: 'stall' });
      const started = Date.now();
      const res = await browser.get(callbackUrl);
      const elapsed = Date.now() - started;
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ statusCode: 502, error: 'google_timeout', message: expect.stringContaining(`did not answer within ${GOOGLE_TIMEOUT_MS} ms`) });
      expect(elapsed).toBeLessThan(GOOGLE_TIMEOUT_MS + 1500);
      // The stalled request's socket was closed by the service, not left open until Google answers.
      const stalled = google.requests.find((r) => r.method === method && r.path === path && r.fault === 'stall');
      expect(await clientClosed(stalled)).toBe(true);
    });
  });

  describe('S3 during the sign-in', () => {
    const MARKER = /\/sessions\/used\//;

    it('reports S3 stalling on the state marker as S3 (503), not as "Google did not answer"', async () => {
      const { browser, callbackUrl } = await approved('s3-stall@example.com');
      // Each attempt hangs past GOOGLE_HTTP_TIMEOUT_MS, then S3's connection drops: the sign-in spent longer than a
      // Google timeout, but only S3 was slow.
      const stallMs = GOOGLE_TIMEOUT_MS + 500;
      s3.inject({ method: 'PUT', path: MARKER, fault: 'stall', ms: stallMs, times: Infinity });
      const started = Date.now();
      const res = await browser.get(callbackUrl);
      const elapsed = Date.now() - started;
      const body = (await res.json()) as { statusCode: number; error: string; message: string };
      expect(body).toMatchObject({ statusCode: 503, error: 'storage_unavailable', message: expect.stringContaining('S3') });
      expect(body.message).not.toMatch(/Google/);
      // Nothing was asked of Google: the code is still good for a retry.
      expect(google.seen('POST', '/token').filter((r) => r.at >= started)).toHaveLength(0);
      expect(elapsed).toBeLessThan(3 * stallMs + 2000);
    });

    it('answers 503 saying storage (S3) is unavailable within S3_TIMEOUT_MS when S3 never answers the state marker', async () => {
      const { browser, callbackUrl } = await approved('s3-silent@example.com');
      s3.inject({ method: 'PUT', path: MARKER, fault: 'stall', times: Infinity });
      const started = Date.now();
      const res = await browser.get(callbackUrl);
      const elapsed = Date.now() - started;
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ statusCode: 503, error: 'storage_unavailable', message: expect.stringMatching(/^The service's storage \(S3\) is not available just now\. Retry/) });
      expect(elapsed).toBeLessThan(S3_TIMEOUT_MS + 1500);
    });

    it('after the code exchange, writes the credentials, the session, its index entry and the spent mark at once', async () => {
      const { browser, callbackUrl } = await approved('one-round@example.com');
      // The credentials write is held at the proxy: the other writes must reach S3 while it is, without waiting for
      // it (until the service gives up on it after S3_TIMEOUT_MS, when a sign-in that waited would have failed).
      const held = s3.holdNext({ method: 'PUT', path: /\/credentials\// });
      const SESSION = /\/sessions\/[A-Za-z0-9_-]{43}\.json$/;
      const started = Date.now();
      const answer = browser.get(callbackUrl);
      const { request: heldPut } = await held.arrived;
      const puts = () => s3.seen('PUT').filter((r) => r.at >= started);
      const at = (path: RegExp) => puts().filter((r) => path.test(r.path)).map((r) => r.at);
      const others = () => [...at(MARKER).slice(1), ...at(SESSION), ...at(/\/sessions\/by-user\//)]; // the spent mark, the session, its index entry
      while (others().length < 3 && heldPut.clientClosedAt === undefined) await new Promise((r) => setTimeout(r, 10));
      expect(others().filter((t) => t < (heldPut.clientClosedAt ?? Infinity))).toHaveLength(3); // sent while the service still awaited the credentials write
      await held.release();
      const res = await answer;
      expect(res.status).toBe(200);
      const [claim] = at(MARKER);
      const [credentials] = at(/\/credentials\//);
      expect(credentials).toBe(heldPut.at);
      expect(claim).toBeLessThanOrEqual(credentials); // the state is claimed before the code goes to Google
      // The credentials write is conditional on one read just before it (create-only for this new user), though
      // Google sent every field: a PUT S3 applied late must not replace a newer sign-in (sign-in-late-writes.e2e).
      const reads = s3.seen('GET', /\/credentials\//).filter((r) => r.at >= started);
      expect(reads).toHaveLength(1);
      expect(reads[0].at).toBeLessThanOrEqual(credentials);
      const { access_token } = (await res.json()) as { access_token: string };
      expect((await getWithBearer(sut, '/auth/session', access_token)).status).toBe(200);
    });

    it('completes the sign-in when S3 applied the state marker but its answer was lost', async () => {
      const { browser, callbackUrl } = await approved('lost-marker@example.com');
      s3.inject({ method: 'PUT', path: MARKER, fault: 'drop-answer' });
      const res = await browser.get(callbackUrl);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ email: 'lost-marker@example.com', token_type: 'Bearer' });
      // The SDK's retry met the marker its first attempt had written (and recognised it as this flow's own).
      expect(s3.seen('PUT', MARKER).filter((r) => r.fault === 'drop-answer' && r.forwarded)).toHaveLength(1);
    });

    it('lets the same browser finish after every answer of the marker write was lost (503 first, then 200)', async () => {
      const { browser, callbackUrl } = await approved('lost-twice@example.com');
      s3.inject({ method: 'PUT', path: MARKER, fault: 'drop-answer', times: Infinity });
      const first = await browser.get(callbackUrl);
      expect(first.status).toBe(503);
      expect(await first.json()).toMatchObject({ error: 'storage_unavailable', message: expect.stringContaining('S3') });
      s3.clear();
      const again = await browser.get(callbackUrl);
      expect(again.status).toBe(200);
      const { access_token } = (await again.json()) as { access_token: string };
      expect((await getWithBearer(sut, '/auth/session', access_token)).status).toBe(200);
    });

    it('still refuses the finished flow replayed with a copied cookie ("already used", Google never asked again)', async () => {
      const { browser, callbackUrl } = await approved('replayed@example.com');
      const copy = browser.clone();
      expect((await browser.get(callbackUrl)).status).toBe(200);
      const exchangesBefore = google.seen('POST', '/token').length;
      const replay = await copy.get(callbackUrl);
      expect(replay.status).toBe(400);
      expect(await replay.json()).toMatchObject({ error: 'state_replayed' });
      expect(google.seen('POST', '/token').length).toBe(exchangesBefore);
    });

    it('completes an OAuth client\'s sign-in when the authorization code\'s write was applied but its answer was lost', async () => {
      s3.inject({ method: 'PUT', path: /\/oauth\/codes\//, fault: 'drop-answer' });
      const tokens = await tokensThroughOAuth(world, sut.url, 'lost-code@example.com');
      expect(tokens.access_token).toEqual(expect.any(String));
      expect(s3.seen('PUT', /\/oauth\/codes\//).filter((r) => r.fault === 'drop-answer')).toHaveLength(1);
    });

    it('completes the sign-in when the session write was applied but its answer was lost (no 409)', async () => {
      const { browser, callbackUrl } = await approved('lost-session@example.com');
      s3.inject({ method: 'PUT', path: /\/sessions\/[A-Za-z0-9_-]{43}\.json$/, fault: 'drop-answer' });
      const res = await browser.get(callbackUrl);
      expect(res.status).toBe(200);
      const { access_token } = (await res.json()) as { access_token: string };
      expect((await getWithBearer(sut, '/auth/session', access_token)).status).toBe(200);
    });
  });
});
