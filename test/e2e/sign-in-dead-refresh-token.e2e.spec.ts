import { Browser } from '../support/http-client.js';
import { tokensThroughOAuth } from '../support/oauth-consent.js';
import { getWithBearer, readObject, type Service, type SignedIn, startService, startSignIn, startWorldWithService, stopAll, type World } from '../support/harness.js';

/**
 * Google kills refresh tokens silently (a password change with Gmail scopes, six months unused, over 100 tokens per
 * client and account, an admin's session policy) and then sends a user it knows no new one unless its consent screen
 * is shown. A sign-in that brings none while S3 holds one asks Google once whether the stored one still works: a dead
 * one sends the person through Google's consent screen, so the sign-in ends with a grant that lasts past the hour.
 */

const GMAIL = '/v1/users/me/gmail/messages?maxResults=1';
// A refused refresh token is believed after S3 was re-read for 2 * S3_TIMEOUT_MS + 2 s (DeadGrantGrace): 6 s here.
const SETTINGS = { S3_TIMEOUT_MS: '2000' };

const storedRefreshToken = async (world: World, email: string) => (await readObject(world, `credentials/${email}.json`)).json.refresh_token as string;

/** The browser sign-in, following the service's redirects through Google; every authorize URL Google was sent. */
async function signInThroughGoogle(service: Service, world: World, email: string): Promise<{ result: SignedIn; authorizeUrls: URL[] }> {
  const browser = new Browser();
  const authorizeUrls = [new URL(await startSignIn(service, browser, email))];
  for (;;) {
    const res = await browser.get(await world.google.approve(authorizeUrls.at(-1)!.toString(), { email }));
    if (res.status === 200) return { result: (await res.json()) as SignedIn, authorizeUrls };
    if (res.status !== 302 || authorizeUrls.length > 2) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
    authorizeUrls.push(new URL(res.headers.get('location') ?? ''));
  }
}

describe('sign-in of a returning user whose stored refresh token Google killed', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService(SETTINGS)));
  afterAll(() => stopAll(world, sut));
  afterEach(() => world.google.rotateRefreshTokens(false));

  it('browser: goes through Google again with prompt=consent and ends with a live refresh token in S3; a call after the access token expired works', async () => {
    const email = 'killed-browser@example.com';
    await signInThroughGoogle(sut, world, email);
    const dead = await storedRefreshToken(world, email);
    world.google.killRefreshTokens(email);

    const { result, authorizeUrls } = await signInThroughGoogle(sut, world, email);
    expect(authorizeUrls.map((u) => u.searchParams.get('prompt'))).toEqual([null, 'consent']);
    const stored = await storedRefreshToken(world, email);
    expect(stored).not.toBe(dead);
    expect(world.google.refreshTokenWorks(stored)).toBe(true);

    world.google.expireAccessTokens(email);
    const call = await getWithBearer(sut, GMAIL, result.access_token);
    expect(call.status).toBe(200);
    expect(world.google.refreshTokenWorks(await storedRefreshToken(world, email))).toBe(true);
  }, 60_000);

  it('OAuth/MCP client: the authorization goes through Google with consent and the client\'s token keeps working after the access token expired', async () => {
    const email = 'killed-oauth@example.com';
    await tokensThroughOAuth(world, sut.url, email);
    const dead = await storedRefreshToken(world, email);
    world.google.killRefreshTokens(email);

    const tokens = await tokensThroughOAuth(world, sut.url, email);
    const stored = await storedRefreshToken(world, email);
    expect(stored).not.toBe(dead);
    expect(world.google.refreshTokenWorks(stored)).toBe(true);

    world.google.expireAccessTokens(email);
    const call = await getWithBearer(sut, GMAIL, tokens.access_token);
    expect(call.status).toBe(200);
  }, 60_000);

  it('a live stored refresh token: exactly one refresh at Google, no consent screen, the same refresh token stored, other sessions untouched', async () => {
    const email = 'live-rt@example.com';
    const first = (await signInThroughGoogle(sut, world, email)).result;
    const rt = await storedRefreshToken(world, email);
    const refreshes = world.google.refreshCount(email);
    const revocations = world.google.revocations.length;

    const { result, authorizeUrls } = await signInThroughGoogle(sut, world, email);
    expect(authorizeUrls).toHaveLength(1);
    expect(authorizeUrls[0].searchParams.has('prompt')).toBe(false);
    expect(world.google.refreshCount(email)).toBe(refreshes + 1);
    expect(await storedRefreshToken(world, email)).toBe(rt);
    expect(world.google.refreshTokenWorks(rt)).toBe(true);
    expect(world.google.revocations).toHaveLength(revocations);
    for (const bearer of [first.access_token, result.access_token]) expect((await getWithBearer(sut, GMAIL, bearer)).status).toBe(200);
  }, 60_000);

  it('a sign-in that brings a refresh token makes no extra call to Google', async () => {
    const email = 'brings-rt@example.com';
    await signInThroughGoogle(sut, world, email); // a first grant: Google sends a refresh token
    expect(world.google.refreshCount(email)).toBe(0);
  });

  it('with rotation: the refresh token the check rotated to is what S3 holds, and it works', async () => {
    const email = 'rotated-check@example.com';
    await signInThroughGoogle(sut, world, email);
    const before = await storedRefreshToken(world, email);
    world.google.rotateRefreshTokens(true);

    const { result } = await signInThroughGoogle(sut, world, email);
    const stored = await storedRefreshToken(world, email);
    expect(stored).not.toBe(before);
    expect(world.google.refreshTokenWorks(before)).toBe(false); // rotated away by the check
    expect(world.google.refreshTokenWorks(stored)).toBe(true);

    world.google.expireAccessTokens(email);
    expect((await getWithBearer(sut, GMAIL, result.access_token)).status).toBe(200);
  }, 60_000);

  describe("Google's token endpoint failing during the check", () => {
    let quick: Service;
    beforeAll(async () => void (quick = await startService(world, { ...SETTINGS, GOOGLE_HTTP_TIMEOUT_MS: '2000' })));
    afterAll(() => quick?.close());

    it.each(['server_error', 'timeout'] as const)('%s: the sign-in succeeds as before, nothing is deleted, and the log says why without secrets', async (failure) => {
      const email = `check-${failure.replace('_', '-')}@example.com`;
      await signInThroughGoogle(quick, world, email);
      const rt = await storedRefreshToken(world, email);
      world.google.failNext('refresh', failure);
      const seen = world.logs.lines.length;

      const { result, authorizeUrls } = await signInThroughGoogle(quick, world, email);
      expect(authorizeUrls).toHaveLength(1);
      expect(await storedRefreshToken(world, email)).toBe(rt);
      expect(world.google.refreshTokenWorks(rt)).toBe(true);
      expect((await getWithBearer(quick, GMAIL, result.access_token)).status).toBe(200);

      const logged = world.logs.lines.slice(seen);
      const warned = logged.map((l) => l.message as Record<string, unknown>).filter((m) => m?.event === 'sign_in_grant_check');
      expect(warned).toEqual([expect.objectContaining({ user: email, reason: expect.stringContaining('google_unavailable') })]);
      const text = logged.map((l) => l.text).join('\n');
      expect(text).not.toContain(rt);
      expect(text).not.toContain(result.access_token);
    }, 60_000);
  });
});
