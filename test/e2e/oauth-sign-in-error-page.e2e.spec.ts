import { FaultProxy } from '../support/fault-proxy.js';
import { Browser } from '../support/http-client.js';
import { authorizeInBrowser, authorizeUrl, pkceRequest, pressConsent, readConsentPage, registerPublicClient, type ConsentPage } from '../support/oauth-consent.js';
import { credentialsKeyPath, googleThrough, Service, startService, startSignIn, startWorld, World } from '../support/harness.js';

const S3_TIMEOUT_MS = 1500;
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';

const decode = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/**
 * The Google callback failing during an OAuth client's sign-in (the person came from /oauth/authorize of an MCP
 * client or an IDE): the error page leads back into that authorization, ending in the application, never to
 * /auth/google, the browser sign-in, which ends on this service's token page.
 */
describe('Sign-in error page of an OAuth client\'s sign-in', () => {
  let world: World;
  let s3: FaultProxy;
  let google: FaultProxy;
  let sut: Service;

  beforeAll(async () => {
    world = await startWorld();
    s3 = await FaultProxy.start(world.s3.endpoint);
    google = await FaultProxy.start(world.google.baseUrl);
    sut = await startService(world, { S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: String(S3_TIMEOUT_MS), ...googleThrough(world, google) });
  });
  afterEach(() => {
    s3.clear();
    google.clear();
  });
  afterAll(async () => {
    await sut?.close();
    await google?.stop();
    await s3?.stop();
    await world?.close();
  });

  async function exchange(clientId: string, code: string, verifier: string): Promise<number> {
    const res = await fetch(`${sut.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: REDIRECT_URI }),
    });
    return res.status;
  }

  /** The page's "connect again" link, checked to repeat exactly the client's request. */
  function connectAgainLink(page: string, params: Record<string, string>): string {
    const href = /id="connect-again" href="([^"]+)"/.exec(page)?.[1];
    expect(href).toBeDefined();
    const link = new URL(decode(href as string));
    expect(`${link.origin}${link.pathname}`).toBe(`${sut.url}/oauth/authorize`);
    expect(Object.fromEntries(link.searchParams)).toEqual(params);
    return link.toString();
  }

  it('S3 answering 503 on the credentials write: the page says so, has no /auth/google link, and its link ends back in the application with a code', async () => {
    const email = 'oauth-page-s3@example.com';
    const clientId = await registerPublicClient(sut, { redirect_uris: [REDIRECT_URI], client_name: 'IDE' });
    const { verifier, params } = await pkceRequest(clientId, REDIRECT_URI);
    const browser = new Browser();
    s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault: 'answer', status: 503, times: Infinity });
    const failed = await authorizeInBrowser(world, authorizeUrl(sut.url, params), email, { browser });
    s3.clear();
    expect(failed.stoppedAt?.status).toBe(503);
    const page = (await failed.stoppedAt?.text()) as string;
    expect(page).toContain('S3');
    expect(page).not.toContain('/auth/google'); // neither a link nor a sentence sends the person to the browser sign-in
    expect(page).not.toContain('id="start-again"');
    const link = connectAgainLink(page, params);

    // Followed in the same browser: the same request again, through consent and Google, back to the application
    // with the client's own state and a code its verifier redeems.
    const again = await authorizeInBrowser(world, link, email, { browser });
    const back = again.location as URL;
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe('st-1');
    expect(await exchange(clientId, back.searchParams.get('code') as string, verifier)).toBe(200);
  });

  it('Google failing the code exchange: 502, told to start again from the application (page and JSON), with the link', async () => {
    const email = 'oauth-page-google@example.com';
    const clientId = await registerPublicClient(sut, { redirect_uris: [REDIRECT_URI], client_name: 'IDE' });
    const { params } = await pkceRequest(clientId, REDIRECT_URI, { scope: 'https://www.googleapis.com/auth/gmail.readonly' });
    google.inject({ method: 'POST', path: new URL(google.rewrite(world.google.urls.token)).pathname, fault: 'answer', status: 500, body: '{"error":"backend_error"}', contentType: 'application/json', times: Infinity });
    const failed = await authorizeInBrowser(world, authorizeUrl(sut.url, params), email);
    expect(failed.stoppedAt?.status).toBe(502);
    const page = (await failed.stoppedAt?.text()) as string;
    expect(page).toContain('start again from the application you were connecting');
    expect(page).not.toContain('/auth/google');
    connectAgainLink(page, params);
  });

  it('the link repeats every parameter the service honours (prompt=consent, resource, scope, state, PKCE): the repeat asks for consent again', async () => {
    // A returning user: this browser approved the client before, so only prompt=consent makes our page show again.
    const email = 'oauth-page-prompt@example.com';
    const browser = new Browser();
    const clientId = await registerPublicClient(sut, { redirect_uris: [REDIRECT_URI], client_name: 'IDE' });
    const extra = { scope: 'https://www.googleapis.com/auth/gmail.readonly', resource: `${sut.url}/v1` };
    const first = await authorizeInBrowser(world, authorizeUrl(sut.url, (await pkceRequest(clientId, REDIRECT_URI, extra)).params), email, { browser });
    expect(first.location?.searchParams.get('code')).toBeTruthy();

    const { verifier, params } = await pkceRequest(clientId, REDIRECT_URI, { ...extra, prompt: 'consent', state: 'st 2&x' });
    google.inject({ method: 'POST', path: new URL(google.rewrite(world.google.urls.token)).pathname, fault: 'answer', status: 500, body: '{"error":"backend_error"}', contentType: 'application/json', times: Infinity });
    const failed = await authorizeInBrowser(world, authorizeUrl(sut.url, params), email, { browser });
    google.clear();
    expect(failed.consentPages).toHaveLength(1); // prompt=consent asked again
    expect(failed.stoppedAt?.status).toBe(502);
    const link = connectAgainLink((await failed.stoppedAt?.text()) as string, params);

    // The repeat is the client's request as sent: our page again (prompt=consent), then the code for its verifier.
    const again = await authorizeInBrowser(world, link, email, { browser });
    expect(again.consentPages).toHaveLength(1);
    const back = again.location as URL;
    expect(back.searchParams.get('state')).toBe('st 2&x');
    expect(await exchange(clientId, back.searchParams.get('code') as string, verifier)).toBe(200);
  });

  it('the callback retried after the authorization went through ("already used"): the OAuth page with the link, not /auth/google', async () => {
    const email = 'oauth-page-reload@example.com';
    const browser = new Browser();
    const clientId = await registerPublicClient(sut, { redirect_uris: [REDIRECT_URI], client_name: 'IDE' });
    const { verifier, params } = await pkceRequest(clientId, REDIRECT_URI, { scope: 'https://www.googleapis.com/auth/gmail.readonly' });
    // Allow on our page, Google, and the callback, whose URL is kept (the back button returns to it).
    const consent = readConsentPage(await (await browser.get(authorizeUrl(sut.url, params), { accept: 'text/html' })).text()) as ConsentPage;
    const handoff = (await pressConsent(browser, consent, 'allow')).headers.get('location') as string;
    const toGoogle = (await browser.get(handoff, { accept: 'text/html' })).headers.get('location') as string;
    const callback = await world.google.approve(toGoogle, { email });
    const copied = browser.clone(); // the live flow cookie, before the callback replaced it
    let res = await browser.get(callback, { accept: 'text/html' });
    while (res.status === 302 && (res.headers.get('location') as string).startsWith(sut.url)) res = await browser.get(res.headers.get('location') as string, { accept: 'text/html' });
    const back = new URL(res.headers.get('location') as string);
    expect(await exchange(clientId, back.searchParams.get('code') as string, verifier)).toBe(200);

    // The same browser reloads the callback (its flow cookie now says "used" and still carries the request), or a
    // copy of its cookies from before the callback retries it (the flow is spent in S3).
    for (const retry of [browser, copied]) {
      const again = await retry.get(callback, { accept: 'text/html' });
      expect(again.status).toBe(400);
      expect(again.headers.get('location')).toBeNull();
      const page = await again.text();
      expect(page).toContain('already used');
      expect(page).not.toContain('/auth/google');
      connectAgainLink(page, params);
    }
    // An API client's retry gets JSON, pointing back to the application too.
    const json = await browser.get(callback);
    expect(await json.json()).toMatchObject({ statusCode: 400, error: 'state_replayed', message: expect.stringContaining('from the application you were connecting') });
  });

  it('a browser sign-in keeps its page: "start again" at /auth/google', async () => {
    const email = 'browser-page@example.com';
    const browser = new Browser();
    const callback = await world.google.approve(await startSignIn(sut, browser, email), { email });
    s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault: 'answer', status: 503, times: Infinity });
    const res = await browser.get(callback, { accept: 'text/html' });
    expect(res.status).toBe(503);
    const page = await res.text();
    expect(page).toContain('<a class="button" id="start-again" href="/auth/google">');
    expect(page).not.toContain('connect-again');
  });
});
