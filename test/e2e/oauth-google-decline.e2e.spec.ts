import { randomBytes } from 'node:crypto';
import { Browser } from '../support/http-client.js';
import { startSignIn, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { authorizeInBrowser, authorizeUrl, pkceRequest, pressConsent, readConsentPage, registerPublicClient, type ConsentPage } from '../support/oauth-consent.js';

const LOOPBACK = 'http://127.0.0.1:8765/callback';
const ATTACKER = 'https://attacker.example/steal';
const HTML = 'text/html';

/**
 * The person presses Cancel on Google's consent page while signing in for an OAuth client (an MCP client waiting
 * on its loopback redirect URI): the client hears access_denied at the redirect URI /oauth/authorize validated,
 * with its own state and our iss (RFC 6749 4.1.2.1, RFC 9207), as after Deny on our consent page. The browser
 * sign-in keeps its 401 page; a forged, replayed or foreign callback redirects nowhere.
 */
describe('Declining at Google during an OAuth client\'s sign-in', () => {
  let world: World;
  let sut: Service;
  let issuer: string;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
    issuer = ((await (await fetch(`${sut.url}/.well-known/oauth-authorization-server`)).json()) as { issuer: string; authorization_response_iss_parameter_supported: boolean }).issuer;
  });
  afterAll(() => stopAll(world, sut));

  /** Allow on our consent page, then up to Google's page, in `browser`: the URL of Google's page (not followed). */
  async function upToGoogle(browser: Browser, params: Record<string, string>): Promise<string> {
    const page = readConsentPage(await (await browser.get(authorizeUrl(sut.url, params), { accept: HTML })).text()) as ConsentPage;
    const handoff = (await pressConsent(browser, page, 'allow')).headers.get('location') as string;
    expect(handoff).toContain('/auth/google?handoff=');
    const toGoogle = (await browser.get(handoff, { accept: HTML })).headers.get('location') as string;
    expect(toGoogle.startsWith(world.google.urls.auth)).toBe(true);
    return toGoogle;
  }

  /** Follows our own redirects from `url` until the browser leaves the service or gets a page. */
  async function walk(browser: Browser, url: string): Promise<{ status: number; location?: URL; page: string }> {
    let res = await browser.get(url, { accept: HTML });
    for (let hop = 0; hop < 5; hop++) {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { status: res.status, page: await res.text() };
      if (!location.startsWith(sut.url)) return { status: res.status, location: new URL(location), page: '' };
      res = await browser.get(location, { accept: HTML });
    }
    throw new Error('kept redirecting');
  }

  it('sends the client access_denied with its own state (exactly as sent) and iss, at its registered redirect URI', async () => {
    const metadata = (await (await fetch(`${sut.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    const clientId = await registerPublicClient(sut, { redirect_uris: [LOOPBACK], client_name: 'MCP client' });
    const state = 'st 1&x=/ü?';
    const { params } = await pkceRequest(clientId, LOOPBACK, { state });
    const declined = await authorizeInBrowser(world, authorizeUrl(sut.url, params), 'decliner@example.com', { google: { deny: true } });
    expect(declined.consentPages).toHaveLength(1); // our page was Allowed; the decline came at Google's
    const back = declined.location as URL;
    expect(back).toBeDefined();
    expect(`${back.origin}${back.pathname}`).toBe(LOOPBACK);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toMatch(/declined/);
    expect(back.searchParams.get('state')).toBe(state);
    expect(back.searchParams.get('iss')).toBe(issuer);
    expect(back.searchParams.has('code')).toBe(false);
  });

  it('a request without state: access_denied without state', async () => {
    const clientId = await registerPublicClient(sut, { redirect_uris: [LOOPBACK], client_name: 'MCP client' });
    const { params } = await pkceRequest(clientId, LOOPBACK);
    const { state: _dropped, ...stateless } = params;
    const declined = await authorizeInBrowser(world, authorizeUrl(sut.url, stateless), 'decliner-2@example.com', { google: { deny: true } });
    expect(declined.location?.searchParams.get('error')).toBe('access_denied');
    expect(declined.location?.searchParams.has('state')).toBe(false);
  });

  it('the callback is one-time: a reload, or the same callback with a copied cookie jar, redirects nowhere', async () => {
    const clientId = await registerPublicClient(sut, { redirect_uris: [LOOPBACK], client_name: 'MCP client' });
    const { params } = await pkceRequest(clientId, LOOPBACK);
    const browser = new Browser();
    const callback = await world.google.approve(await upToGoogle(browser, params), { email: 'replay-decline@example.com', deny: true });
    const copied = browser.clone(); // the flow cookie as it was before the callback

    const first = await walk(browser, callback);
    expect(first.location?.searchParams.get('error')).toBe('access_denied');

    const reload = await browser.get(callback, { accept: HTML });
    expect(reload.headers.get('location')).toBeNull();
    expect(reload.status).toBeGreaterThanOrEqual(400);
    expect(reload.status).toBeLessThan(500);

    const replay = await copied.get(callback, { accept: HTML });
    expect(replay.headers.get('location')).toBeNull();
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('already used');
  });

  it('a forged callback (error=access_denied, a state that is no live flow of this browser) redirects nowhere', async () => {
    const clientId = await registerPublicClient(sut, { redirect_uris: [LOOPBACK], client_name: 'MCP client' });
    const { params } = await pkceRequest(clientId, LOOPBACK);
    const victim = new Browser();
    const liveState = new URL(await upToGoogle(victim, params)).searchParams.get('state') as string;
    const stranger = new Browser();
    for (const state of [randomBytes(32).toString('base64url'), liveState, 'x']) {
      // A redirect_uri in the callback's query is nobody's to honour: the target only ever comes from the sealed request.
      const forged = `${sut.url}/auth/google/callback?${new URLSearchParams({ error: 'access_denied', state, redirect_uri: ATTACKER })}`;
      for (const browser of [stranger, new Browser()]) {
        const res = await browser.get(forged, { accept: HTML });
        expect(res.headers.get('location')).toBeNull();
        expect([400, 401]).toContain(res.status);
        expect(await res.text()).not.toContain('attacker.example');
      }
    }
    // The victim's own flow was not consumed by the forgeries: its decline still reaches the client.
    const callback = `${sut.url}/auth/google/callback?${new URLSearchParams({ error: 'access_denied', state: liveState })}`;
    expect((await walk(victim, callback)).location?.searchParams.get('error')).toBe('access_denied');
  });

  it('a handoff link made by someone else (their Allow, their client) and declined by the person who follows it: no redirect to that client', async () => {
    const attackerClient = await registerPublicClient(sut, { client_name: 'Trusted Mail Helper', redirect_uris: [ATTACKER] });
    const { params } = await pkceRequest(attackerClient, ATTACKER);
    const attacker = new Browser();
    const page = readConsentPage(await (await attacker.get(authorizeUrl(sut.url, params), { accept: HTML })).text()) as ConsentPage;
    const handoff = (await pressConsent(attacker, page, 'allow')).headers.get('location') as string;

    const victim = new Browser();
    const walked = await authorizeInBrowser(world, handoff, 'handoff-decliner@example.com', { browser: victim, google: { deny: true } });
    expect(walked.location).toBeUndefined();
    expect(walked.stoppedAt?.status).toBe(403);
    const text = (await walked.stoppedAt?.text()) as string;
    expect(text).toContain('nothing was shared');
  });

  it('the hop back with a ticket not sealed here, altered, repeated or missing: 400, no redirect', async () => {
    for (const query of ['ticket=x', 'ticket=a&ticket=b', '', `ticket=${'A'.repeat(9000)}`]) {
      const res = await fetch(`${sut.url}/oauth/authorize/declined?${query}`, { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('the browser sign-in keeps its page (401, start again at /auth/google) and its JSON', async () => {
    const browser = new Browser();
    const asPage = await browser.get(await world.google.approve(await startSignIn(sut, browser), { email: 'browser-decliner@example.com', deny: true }), { accept: HTML });
    expect(asPage.status).toBe(401);
    expect(asPage.headers.get('location')).toBeNull();
    const page = await asPage.text();
    expect(page).toMatch(/<p id="problem">Access was declined[^<]*<\/p>/);
    expect(page).toContain('id="start-again" href="/auth/google"');

    const json = await browser.get(await world.google.approve(await startSignIn(sut, browser), { email: 'browser-decliner@example.com', deny: true }));
    expect(json.status).toBe(401);
    expect(await json.json()).toMatchObject({ statusCode: 401, error: 'access_denied' });
  });
});
