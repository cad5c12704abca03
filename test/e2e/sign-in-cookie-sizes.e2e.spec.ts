import { Browser } from '../support/http-client.js';
import { signIn, startService, startWorld, stopAll, type Service, type World } from '../support/harness.js';
import { authorizeInBrowser, authorizeUrl, pkceRequest, pressConsent, readConsentPage, registerPublicClient, type ConsentPage } from '../support/oauth-consent.js';

/** A browser refuses a cookie over 4096 bytes (name, value and attributes: RFC 6265 6.1, what browsers enforce). */
const BROWSER_COOKIE_CAP = 4096;
/** 512 characters: the longest redirect URI the service accepts (redirect-uris.ts). */
const LONG_REDIRECT = `https://app.example/cb/${'p'.repeat(512 - 23)}`;
/** The longest login_hint the service accepts (254 characters, normalizeEmail). */
const LONG_HINT = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example`.slice(0, 254);
const SCOPE = 'https://www.googleapis.com/auth/gmail.readonly';

describe('A browser is never locked out by its own cookies (flow cookies at their largest, as many as it can hold)', () => {
  let world: World;
  let sut: Service;
  let client: string;

  beforeAll(async () => {
    world = await startWorld();
    // Secure cookies (production): __Host- names on Path=/, so every request of the browser carries all of them.
    sut = await startService(world, { COOKIE_SECURE: 'true' });
    client = await registerPublicClient(sut, { client_name: 'Long Params', redirect_uris: [LONG_REDIRECT] });
  });
  afterAll(() => stopAll(world, sut));

  /** /oauth/authorize with the longest client parameters; `stateChars` control characters in state (6 bytes each once stored). */
  const authorizeWith = async (stateChars: number) =>
    authorizeUrl(sut.url, (await pkceRequest(client, LONG_REDIRECT, { state: '\u0001'.repeat(stateChars), scope: SCOPE, resource: `${sut.url}/mcp`, prompt: 'consent' })).params);

  it('starts the largest flows an attacker\'s page can open in one browser; the person still signs in and uses the service', async () => {
    // The attacker finds the largest request the service takes (a consent page, not a refusal) and presses Allow in
    // their own browser, keeping the handoff link (/auth/google?handoff=...) it sends on.
    const attacker = new Browser();
    let lo = 1;
    let hi = 512;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const res = await attacker.get(await authorizeWith(mid), { accept: 'text/html' });
      await res.arrayBuffer();
      if (res.status === 200) lo = mid;
      else hi = mid - 1;
    }
    const page = readConsentPage(await (await attacker.get(await authorizeWith(lo), { accept: 'text/html' })).text()) as ConsentPage;
    expect(page).toBeDefined();
    const handoff = `${(await pressConsent(attacker, page, 'allow')).headers.get('location') as string}&login_hint=${encodeURIComponent(LONG_HINT)}`;
    expect(handoff).toContain('/auth/google?handoff=');

    // The victim's browser already holds the consent and remembered-user cookies of an authorization of their own.
    const victim = new Browser();
    const own = await authorizeInBrowser(world, await authorizeWith(1), 'cookie-sizes@example.com', { browser: victim });
    expect(own.location?.searchParams.get('code')).toEqual(expect.any(String));

    // The attacker's page opens the handoff link in the victim's browser, more times than flows a browser may hold.
    let largest = 0;
    for (let i = 0; i < 8; i++) {
      const res = await victim.get(handoff);
      expect(res.status).toBe(302); // on to Google: never 431
      for (const line of res.headers.getSetCookie()) largest = Math.max(largest, Buffer.byteLength(line));
    }
    const header = victim.cookiesFor(`${sut.url}/auth/google`);
    const flows = victim.cookieNames().filter((n) => n.startsWith('__Host-wsb_flow_')).length;
    console.log(JSON.stringify({ stateChars: lo, handoffLink: handoff.length, largestSetCookie: largest, flowsHeld: flows, cookieHeader: header.length }));
    expect(largest).toBeLessThan(BROWSER_COOKIE_CAP); // every flow cookie is one a browser keeps
    expect(header.length).toBeLessThan(8192);

    // The person signs in and uses the service from that browser: no 431 anywhere.
    const signedIn = await signIn(sut, world, 'cookie-sizes@example.com', victim);
    const session = await victim.get(`${sut.url}/auth/session`, { authorization: `Bearer ${signedIn.access_token}` });
    expect(session.status).toBe(200);
    const again = await authorizeInBrowser(world, await authorizeWith(1), 'cookie-sizes@example.com', { browser: victim });
    expect(again.location?.searchParams.get('code')).toEqual(expect.any(String));
    expect(victim.cookiesFor(`${sut.url}/auth/google`).length).toBeLessThan(8192);
  });

  it('a request too large to keep in a browser cookie is refused at /oauth/authorize with a 400 naming the bound, before any cookie is set', async () => {
    const browser = new Browser();
    const res = await browser.get(await authorizeWith(512), { accept: 'text/html' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/too large[\s\S]*at most 1800/);
    expect(browser.cookieNames().filter((n) => /wsb_flow_/.test(n))).toEqual([]);
  });
});
