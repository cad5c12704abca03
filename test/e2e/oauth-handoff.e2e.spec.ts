import { Browser } from '../support/http-client.js';
import { objectExists, signIn, startService, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { approvalKey, authorizeInBrowser, authorizeUrl, pkceRequest as request, pressConsent, readConsentPage, registerPublicClient as register, type ConsentPage } from '../support/oauth-consent.js';

const ATTACKER = 'https://attacker.example/steal';
const LOOPBACK = 'http://127.0.0.1:8765/callback';

/** Follows redirects within the service and Google (signed in as `email`) until the browser is sent elsewhere or gets a page. */
async function follow(world: World, sut: Service, browser: Browser, start: string, email: string): Promise<{ location?: URL; page?: ConsentPage; status: number }> {
  let res = await browser.get(start, { accept: 'text/html' });
  for (let hop = 0; hop < 10; hop++) {
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) {
      return { status: res.status, page: res.status === 200 ? readConsentPage(await res.text()) : undefined };
    }
    if (location.startsWith(world.google.urls.auth)) res = await browser.get(await world.google.approve(location, { email }), { accept: 'text/html' });
    else if (location.startsWith(sut.url)) res = await browser.get(location, { accept: 'text/html' });
    else return { status: res.status, location: new URL(location) };
  }
  throw new Error('kept redirecting');
}

describe('The /auth/google?handoff= link (an attacker\'s Allow does not travel)', () => {
  let world: World;
  let sut: Service;
  let attackerClient: string;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
    attackerClient = await register(sut, { client_name: 'Trusted Mail Helper', redirect_uris: [ATTACKER] });
  });
  afterAll(() => stopAll(world, sut));

  it('a handoff link made by the attacker pressing Allow in their own browser gets no code for a victim who follows it', async () => {
    const victim = new Browser();
    await signIn(sut, world, 'handoff-victim@example.com', victim); // returning user: Google shows no consent screen

    // The attacker starts an authorization for their own client, presses Allow on our page in their own browser,
    // and keeps the handoff link instead of following it.
    const { params } = await request(attackerClient, ATTACKER);
    const attacker = new Browser();
    const page = readConsentPage(await (await attacker.get(authorizeUrl(sut.url, params), { accept: 'text/html' })).text()) as ConsentPage;
    const allowed = await pressConsent(attacker, page, 'allow');
    expect(allowed.status).toBe(303);
    const handoff = allowed.headers.get('location') as string;
    expect(handoff).toContain('/auth/google?handoff=');

    // The victim follows it: no code reaches attacker.example without the victim pressing Allow on our page.
    const walked = await follow(world, sut, victim, handoff, 'handoff-victim@example.com');
    expect(walked.location?.searchParams.get('code') ?? null).toBeNull();
    // Instead, our page naming the attacker's redirect host and the signed-in victim.
    expect(walked.status).toBe(200);
    expect(walked.page?.host).toBe('attacker.example');
    expect(walked.page?.signedInAs).toBe('handoff-victim@example.com');
    // No approval was recorded for the victim, so a later request from the attacker's client still asks.
    expect(await objectExists(world, approvalKey('handoff-victim@example.com', attackerClient))).toBe(false);

  });

  it('with secure cookies, a consent cookie planted by another host of the site (cookie tossing) does not make the attacker\'s Allow count', async () => {
    // Production serves https with Secure cookies. A sibling subdomain (or a network attacker answering plain http)
    // can set cookies for this host, but not __Host- ones.
    const secure = await startService(world, { COOKIE_SECURE: 'true' });
    try {
      const client = await register(secure, { client_name: 'Trusted Mail Helper', redirect_uris: [ATTACKER] });
      const victim = new Browser();
      await signIn(secure, world, 'tossed-victim@example.com', victim);

      // The attacker presses Allow in their own browser and keeps the handoff link and the consent cookie it got.
      const { params } = await request(client, ATTACKER);
      const attacker = new Browser();
      const first = await attacker.get(authorizeUrl(secure.url, params), { accept: 'text/html' });
      const setCookie = first.headers.getSetCookie().find((c) => /csrf/.test(c)) as string;
      const [name, value] = setCookie.split(';')[0].split('=');
      const allowed = await pressConsent(attacker, readConsentPage(await first.text()) as ConsentPage, 'allow');
      const handoff = allowed.headers.get('location') as string;
      expect(handoff).toContain('/auth/google?handoff=');

      // From a sibling host, the attacker plants that cookie in the victim's browser under every name it could
      // (only a name without the __Host- prefix sticks), then sends the victim the link.
      victim.tossCookie(name, value, '/oauth');
      victim.tossCookie(name.replace(/^__Host-/, ''), value, '/oauth');
      const walked = await follow(world, secure, victim, handoff, 'tossed-victim@example.com');
      expect(walked.location?.searchParams.get('code') ?? null).toBeNull();
      expect(walked.status).toBe(200);
      expect(walked.page?.signedInAs).toBe('tossed-victim@example.com');
      expect(await objectExists(world, approvalKey('tossed-victim@example.com', client))).toBe(false);
      // What keeps it out: the prefix, which a browser accepts only with Secure, Path=/ and no Domain.
      expect(setCookie).toMatch(/^__Host-[^=]+=/);
      expect(setCookie).toMatch(/;\s*Secure/i);
      expect(setCookie).toMatch(/;\s*Path=\/(;|$)/i);
      expect(setCookie).not.toMatch(/;\s*Domain=/i);
      // With those cookies, the person who presses Allow in their own browser gets the code, and is remembered.
      const honest = new Browser();
      const done = await authorizeInBrowser(world, authorizeUrl(secure.url, (await request(client, ATTACKER)).params), 'secure-honest@example.com', { browser: honest });
      expect(done.consentPages).toHaveLength(1);
      expect(done.location?.searchParams.get('code')).toEqual(expect.any(String));
      const again = await authorizeInBrowser(world, authorizeUrl(secure.url, (await request(client, ATTACKER)).params), 'secure-honest@example.com', { browser: honest });
      expect(again.consentPages).toHaveLength(0);
      expect(again.location?.searchParams.get('code')).toEqual(expect.any(String));
    } finally {
      await secure.close();
    }
  });

  it('a hop back from someone else\'s sign-in, opened in another browser, is not redirected: our page, and no remembered user is planted', async () => {
    // The attacker approves their own client once, then signs in again from a browser that does not remember them,
    // and keeps the link of the hop back (/oauth/authorize/resume) instead of following it.
    await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(attackerClient, ATTACKER)).params), 'resume-attacker@example.com');
    const attacker = new Browser();
    const page = readConsentPage(await (await attacker.get(authorizeUrl(sut.url, (await request(attackerClient, ATTACKER)).params), { accept: 'text/html' })).text()) as ConsentPage;
    const handoff = (await pressConsent(attacker, page, 'allow')).headers.get('location') as string;
    const toGoogle = (await attacker.get(handoff)).headers.get('location') as string;
    const resume = (await attacker.get(await world.google.approve(toGoogle, { email: 'resume-attacker@example.com' }))).headers.get('location') as string;
    expect(resume).toMatch(/\/oauth\/authorize\/resume\?ticket=/);

    // Sent to a victim, the link on this service's host must not bounce them to attacker.example.
    const victim = new Browser();
    const res = await victim.get(resume, { accept: 'text/html' });
    expect({ status: res.status, location: res.headers.get('location') }).toEqual({ status: 200, location: null });
    expect(readConsentPage(await res.text())?.host).toBe('attacker.example');
    expect(res.headers.getSetCookie().filter((c) => /oauth_user/.test(c))).toEqual([]);
  });

  it('the person who pressed Allow still gets the code after the Google sign-in, with one consent page, and the approval is kept', async () => {
    const client = await register(sut, { client_name: 'Honest app', redirect_uris: [LOOPBACK] });
    const browser = new Browser();
    const first = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), 'honest@example.com', { browser });
    expect(first.consentPages).toHaveLength(1);
    expect(first.location?.searchParams.get('code')).toEqual(expect.any(String));
    expect(await objectExists(world, approvalKey('honest@example.com', client))).toBe(true);
    // Remembered now: no page the next time.
    const again = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), 'honest@example.com', { browser });
    expect(again.consentPages).toHaveLength(0);
    expect(again.location?.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('a handoff sent as an array, or with a malformed percent-escape, is a 400 JSON, never a 500', async () => {
    const twice = await fetch(`${sut.url}/auth/google?handoff=a&handoff=b`, { redirect: 'manual' });
    expect(twice.status).toBe(400);
    expect(await twice.json()).toMatchObject({ statusCode: 400, error: 'handoff_invalid' });
    const badEscape = await fetch(`${sut.url}/auth/google?handoff=%ZZ`, { redirect: 'manual' });
    expect(badEscape.status).toBeGreaterThanOrEqual(400);
    expect(badEscape.status).toBeLessThan(500);
    expect(badEscape.headers.getSetCookie()).toEqual([]);
  });
});
