import { Browser } from '../support/http-client.js';
import { objectExists, signIn, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
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
