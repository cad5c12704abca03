import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { FaultProxy } from '../support/fault-proxy.js';
import { CHROMIUM, CHROMIUM_FLAGS, describeInChromium, openTab, startLoopback, watch, type Loopback, type Watched, reach, STEP } from '../support/chromium.js';
import { googleThrough, startService, startWorld, type Service, type World } from '../support/harness.js';
import { authorizeUrl, pkceRequest, registerPublicClient } from '../support/oauth-consent.js';

/**
 * Every HTML page the service serves, opened in a real browser (Debian's chromium driven by playwright-core) against
 * the service and the Google emulator over real HTTP: the front door, /docs (Swagger UI, used with a bearer), the
 * consent page (before the sign-in, and after it for a different person on a browser that remembers someone else),
 * the OAuth client's sign-in error page and its "Try connecting again" link, the "already used" page of a reloaded
 * callback, the 403 page of a declined hop opened in another browser, the authorization error page, and the browser
 * sign-in's error page. On each: no CSP violation or page error in the console, every resource it references loads,
 * and the page does what it is for. The HTTP-client e2e specs check the same pages' HTML, but not whether a browser
 * honours it (test/browser/mcp-connect.browser.spec.ts found the consent form refused in every real browser).
 *
 * As in mcp-connect.browser: Google's pages are reached as `localhost` and the service as `127.0.0.1`, two sites,
 * so the SameSite rules of the service's cookies apply on the way back from Google as in production. Each person is
 * a fresh browser context (its own cookie jar) of one chromium.
 */
const { title, describe: inChromium } = describeInChromium('pages');

inChromium(title, () => {
  let world: World;
  let google: FaultProxy;
  let s3: FaultProxy;
  let sut: Service;
  let loopback: Loopback;
  let chrome: Browser;
  let googleAuth: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    loopback = await startLoopback();
    world = await startWorld();
    google = await FaultProxy.start(world.google.baseUrl); // the token exchange, to make one sign-in fail
    googleAuth = world.google.urls.auth.replace('//127.0.0.1:', '//localhost:');
    s3 = await FaultProxy.start(world.s3.endpoint); // a storage write, to make one consent decision fail
    sut = await startService(world, { ...googleThrough(world, google), GOOGLE_AUTH_URL: googleAuth, S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: '3000' });
    chrome = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  }, 60_000);
  afterAll(async () => {
    await chrome?.close();
    await sut?.close();
    await google?.stop();
    await s3?.stop();
    await world?.close();
    await loopback?.close();
  });
  afterEach(async () => {
    google.clear();
    s3.clear();
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  /** A person's browser: a fresh context (cookie jar) and a watched tab in it. */
  async function personsBrowser(): Promise<Watched> {
    const context = await chrome.newContext();
    contexts.push(context);
    return openTab(context);
  }

  const onService = (path: string) => (url: string) => url.startsWith(`${sut.url}${path}`);
  const onGooglePage = (url: string) => url.startsWith(googleAuth);
  const onLoopback = (url: string) => url.startsWith(loopback.redirectUri);


  /** Google's (the emulator's) sign-in page: type the email, press Allow or Deny. */
  async function atGoogle(tab: Watched, email: string, decision: 'allow' | 'deny'): Promise<void> {
    await reach(tab, "Google's sign-in page", onGooglePage);
    await tab.page.fill('input[name=email]', email);
    await tab.page.click(`button[value=${decision}]`);
  }

  /** Lands on the client's loopback redirect URI: its query. */
  async function landOnLoopback(tab: Watched): Promise<URLSearchParams> {
    await reach(tab, 'the loopback callback', onLoopback);
    await tab.page.waitForSelector('#done', STEP);
    return new URL(tab.page.url()).searchParams;
  }

  /** What every page must give a person: nothing blocked by its own CSP, no script error, every resource loaded. */
  function expectClean(tab: Watched): void {
    expect(tab.problems).toEqual([]);
    expect(tab.failedLoads).toEqual([]);
  }

  /** The page's own stylesheet took effect (a refused or missing one leaves the browser's default font). */
  async function styled(tab: Watched): Promise<string> {
    return tab.page.evaluate('getComputedStyle(document.body).fontFamily') as Promise<string>;
  }

  /** An OAuth client of the loopback and a fresh authorization request for it. */
  async function client(name: string): Promise<{ clientId: string; request: () => Promise<string> }> {
    const clientId = await registerPublicClient(sut, { redirect_uris: [loopback.redirectUri], client_name: name });
    return { clientId, request: async () => authorizeUrl(sut.url, (await pkceRequest(clientId, loopback.redirectUri)).params) };
  }

  it('the front door, the sign-in, and /docs: Swagger UI lists the operations, takes the bearer, and "Try it out" on GET /auth/session answers 200', async () => {
    const tab = await personsBrowser();
    const home = await tab.page.goto(`${sut.url}/`);
    expect(home?.status()).toBe(200);
    expect(await tab.page.textContent('h1')).toContain('credential broker');
    expect(await styled(tab)).toMatch(/system-ui/);
    await tab.page.click('#sign-in');
    await atGoogle(tab, 'docs.reader@example.com', 'allow');
    await tab.page.waitForSelector('#token', STEP);
    const token = ((await tab.page.textContent('#token')) ?? '').trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expectClean(tab);

    // The token page's link to the documentation, as a person follows it: a new tab, and this one keeps the token
    // (fails on the code before the fix: the link replaced the token page, which cannot be shown again).
    const opened = tab.page.context().waitForEvent('page', { timeout: 5_000 });
    await tab.page.click('a[href="/docs"]');
    const docs = watch(await opened);
    expect(await tab.page.textContent('#token', { timeout: 2_000 })).toBe(token);
    await reach(docs, '/docs', onService('/docs'));
    const session = docs.page.locator('.opblock.opblock-get', { has: docs.page.locator('[data-path="/auth/session"]') });
    await session.waitFor(STEP); // Swagger UI rendered the operations list
    expect(await docs.page.locator('.opblock').count()).toBeGreaterThan(20);

    // Authorize with the token the other tab shows, then Try it out / Execute on GET /auth/session.
    await docs.page.click('button.authorize');
    await docs.page.fill('.modal-ux input[type=text]', token);
    await docs.page.click('.modal-ux button.authorize[type=submit]');
    await docs.page.click('.modal-ux button.btn-done');

    await session.locator('.opblock-summary').click();
    await session.locator('button.try-out__btn').click();
    await session.locator('button.execute').click();
    const status = session.locator('.live-responses-table .response .response-col_status');
    await status.waitFor(STEP);
    expect((await status.textContent())?.trim()).toBe('200');
    expect(await session.locator('.live-responses-table .response .response-col_description').textContent()).toContain('docs.reader@example.com');
    // A Workspace route: its userId comes filled in (`me`), so Execute needs nothing typed.
    const mail = docs.page.locator('.opblock.opblock-get', { has: docs.page.locator('[data-path="/v1/users/{userId}/gmail/messages"]') });
    await mail.locator('.opblock-summary').click();
    await mail.locator('button.try-out__btn').click();
    await mail.locator('button.execute').click();
    const mailStatus = mail.locator('.live-responses-table .response .response-col_status');
    await mailStatus.waitFor(STEP);
    expect((await mailStatus.textContent())?.trim()).toBe('200');
    expect(await mail.locator('.request-url').textContent()).toContain('/v1/users/me/gmail/messages');
    // Typed with a trailing slash, the address still renders (Swagger UI's files are referenced relative to it).
    await docs.page.goto(`${sut.url}/docs/`);
    await docs.page.locator('.opblock').first().waitFor(STEP);
    expectClean(docs);
    expectClean(tab);
  }, 60_000);

  it('the consent page for a different person on a browser that remembers someone else: names them; Deny tells the client, Allow gives it a code', async () => {
    const { request } = await client('Shared desk app');
    const tab = await personsBrowser();
    // The first person: our page before the sign-in; Allow leads on to Google, then a code for the client.
    await tab.page.goto(await request());
    await reach(tab, 'the consent page', onService('/oauth/authorize'));
    expect(await tab.page.textContent('h1')).toContain('Shared desk app');
    expect(await tab.page.textContent('body')).toContain('You will sign in with Google next.');
    await tab.page.click('button[value=allow]');
    await atGoogle(tab, 'first.person@example.com', 'allow');
    expect((await landOnLoopback(tab)).get('code')).toEqual(expect.any(String));

    // Someone else at the same browser: straight to Google (the browser remembers the first person, who approved),
    // then our page after the sign-in, naming the second person.
    for (const decision of ['deny', 'allow'] as const) {
      const shownBefore = tab.shown.length;
      await tab.page.goto(await request());
      await atGoogle(tab, 'second.person@example.com', 'allow');
      await reach(tab, 'the consent page after the sign-in', onService('/oauth/authorize/resume'));
      expect(tab.shown.slice(shownBefore).some(onService('/oauth/authorize?'))).toBe(false); // no page before Google
      expect(await tab.page.textContent('h1')).toContain('Shared desk app');
      expect(await tab.page.textContent('body')).toContain('Signed in as second.person@example.com.');
      await tab.page.click(`button[value=${decision}]`);
      const back = await landOnLoopback(tab);
      if (decision === 'deny') {
        expect(back.get('error')).toBe('access_denied');
        expect(back.has('code')).toBe(false);
      } else {
        expect(back.get('code')).toEqual(expect.any(String));
        expect(back.get('state')).toBe('st-1');
      }
    }
    expectClean(tab);
  }, 60_000);

  it('Allow on the page naming the signed-in person while storage fails: the 503 page offers the choice again, and pressing it gives the client its code', async () => {
    // Fails on the code before the fix: the page said "go back to the previous page and press your choice again",
    // and the back button requests the page anew: here the one-time resume link, so "already used" (renderErrorPage).
    const { request } = await client('Flaky storage app');
    const tab = await personsBrowser();
    await tab.page.goto(await request());
    await tab.page.click('button[value=allow]');
    await atGoogle(tab, 'first.flaky@example.com', 'allow');
    await landOnLoopback(tab);

    await tab.page.goto(await request());
    await atGoogle(tab, 'second.flaky@example.com', 'allow');
    await reach(tab, 'the consent page after the sign-in', onService('/oauth/authorize/resume'));
    expect(await tab.page.textContent('body')).toContain('Signed in as second.flaky@example.com.');
    s3.inject({ method: 'PUT', path: /\/oauth\/codes\//, fault: 'answer', status: 503, times: Infinity });
    const failed = tab.page.waitForResponse((r) => r.url() === `${sut.url}/oauth/authorize/decision`, STEP);
    await tab.page.click('button[value=allow]');
    expect((await failed).status()).toBe(503);
    await tab.page.waitForSelector('h1', STEP);
    expect(await tab.page.textContent('body')).toContain('press your choice again');
    s3.clear();

    const again = tab.page.locator('#decide-again');
    expect(await again.count()).toBe(1);
    expect(await again.textContent()).toBe('Allow again');
    await again.click();
    const back = await landOnLoopback(tab);
    expect(back.get('code')).toEqual(expect.any(String));
    expect(back.get('state')).toBe('st-1');
    expectClean(tab);
  }, 60_000);

  it('the OAuth client\'s sign-in error page (Google failed the code exchange): "Try connecting again" starts the authorization again; a reload of the finished callback gets the "already used" page, whose link does too', async () => {
    const { request } = await client('Retrying IDE');
    const tab = await personsBrowser();
    const callbacks: string[] = [];
    tab.page.on('request', (r) => {
      if (r.isNavigationRequest() && r.url().startsWith(`${sut.url}/auth/google/callback`)) callbacks.push(r.url());
    });
    google.inject({ method: 'POST', path: new URL(google.rewrite(world.google.urls.token)).pathname, fault: 'answer', status: 500, body: '{"error":"backend_error"}', contentType: 'application/json', times: 1 });
    const first = await request();
    await tab.page.goto(first);
    await tab.page.click('button[value=allow]');
    await atGoogle(tab, 'retrying.person@example.com', 'allow');
    await reach(tab, 'the callback', onService('/auth/google/callback'));
    await tab.page.waitForSelector('#connect-again', STEP);
    expect(await tab.page.textContent('h1')).toBe('Connecting the application did not finish');
    expect(await tab.page.locator('a[href^="/auth/google"]').count()).toBe(0);
    expect(await styled(tab)).toMatch(/system-ui/);
    expectClean(tab);

    await tab.page.click('#connect-again');
    // The client's own request again: our page (nothing was approved: the sign-in never finished), then Google.
    await reach(tab, 'the consent page', onService('/oauth/authorize?'));
    expect(Object.fromEntries(new URL(tab.page.url()).searchParams)).toEqual(Object.fromEntries(new URL(first).searchParams));
    await tab.page.click('button[value=allow]');
    await atGoogle(tab, 'retrying.person@example.com', 'allow');
    const back = await landOnLoopback(tab);
    expect(back.get('code')).toEqual(expect.any(String));
    expect(back.get('state')).toBe('st-1');

    // The finished callback opened again (the person's history, a reload): "already used", with the same link.
    const callback = callbacks.at(-1) as string;
    const again = await tab.page.goto(callback);
    expect(again?.status()).toBe(400);
    expect(await tab.page.textContent('#problem')).toMatch(/already used/);
    await tab.page.click('#connect-again');
    // This browser's person approved the client now: the repeat goes straight to Google.
    await reach(tab, "Google's sign-in page", onGooglePage);
    expect(callbacks.length).toBe(3); // the failed one, the finished one, its reload: the link made no callback
    expectClean(tab);
  }, 60_000);

  it('an authorization request at another name of the service (localhost, PUBLIC_URL says 127.0.0.1): the consent page\'s Allow works', async () => {
    const { request } = await client('Localhost app');
    const tab = await personsBrowser();
    // Fails on the code before the fix: the page was shown at localhost, and its form, posted to PUBLIC_URL, was
    // refused as posted from another site (OAuthController.authorize).
    await tab.page.goto((await request()).replace('//127.0.0.1:', '//localhost:'));
    await reach(tab, "the consent page on PUBLIC_URL's host", onService('/oauth/authorize?'));
    await tab.page.waitForSelector('button[value=allow]', STEP);
    await tab.page.click('button[value=allow]');
    await atGoogle(tab, 'localhost.person@example.com', 'allow');
    const back = await landOnLoopback(tab);
    expect(back.get('code')).toEqual(expect.any(String));
    expectClean(tab);
  }, 60_000);

  it('the hop back from Google while storage fails: the 503 page says to reload, and a reload gives the client its code', async () => {
    const { request } = await client('Flaky hop app');
    const tab = await personsBrowser();
    await tab.page.goto(await request());
    await tab.page.click('button[value=allow]');
    s3.inject({ method: 'PUT', path: /\/oauth\/codes\//, fault: 'answer', status: 503, times: Infinity });
    const failed = tab.page.waitForResponse((r) => r.url().startsWith(`${sut.url}/oauth/authorize/resume`), STEP);
    await atGoogle(tab, 'flaky.hop@example.com', 'allow');
    expect((await failed).status()).toBe(503);
    await tab.page.waitForSelector('h1', STEP);
    expect(await tab.page.textContent('body')).toContain('reload this page');
    s3.clear();
    await tab.page.reload(); // what the page says, as a person does it
    const back = await landOnLoopback(tab);
    expect(back.get('code')).toEqual(expect.any(String));
    expect(back.get('state')).toBe('st-1');
    expectClean(tab);
  }, 60_000);

  it('a handoff link opened in another browser: declined at Google, the 403 page says nothing was shared; signed in, our page names the person and Allow gives the client a code', async () => {
    const { request } = await client('Trusted Mail Helper');
    const sender = await personsBrowser();
    const handoffs: string[] = [];
    sender.page.on('request', (r) => {
      if (r.url().startsWith(`${sut.url}/auth/google?handoff=`)) handoffs.push(r.url());
    });
    for (let i = 0; i < 2; i++) {
      await sender.page.goto(await request());
      await sender.page.click('button[value=allow]');
      await reach(sender, "Google's sign-in page", onGooglePage);
    }
    expect(handoffs).toHaveLength(2);

    const other = await personsBrowser();
    await other.page.goto(handoffs[0]);
    await atGoogle(other, 'someone.else@example.com', 'deny');
    await reach(other, 'the declined hop', onService('/oauth/authorize/declined'));
    await other.page.waitForSelector('h1', STEP);
    expect(await other.page.textContent('h1')).toContain('Authorization refused');
    expect(await other.page.textContent('body')).toContain('nothing was shared');
    expect(other.shown.some(onLoopback)).toBe(false);

    // The same browser (no consent cookie of this service yet: it gets one with the page) signs in on the other link.
    await other.page.goto(handoffs[1]);
    await atGoogle(other, 'someone.else@example.com', 'allow');
    await reach(other, 'the consent page after the sign-in', onService('/oauth/authorize/resume'));
    expect(await other.page.textContent('body')).toContain('Signed in as someone.else@example.com.');
    await other.page.click('button[value=allow]');
    expect((await landOnLoopback(other)).get('code')).toEqual(expect.any(String));
    expectClean(other);
  }, 60_000);

  it('the authorization error page (an unknown client) and the browser sign-in\'s error pages (a bad callback, Cancel at Google), whose link starts a new sign-in', async () => {
    const tab = await personsBrowser();
    const refused = await tab.page.goto(`${sut.url}/oauth/authorize?${new URLSearchParams({ client_id: 'nobody', response_type: 'code', redirect_uri: loopback.redirectUri })}`);
    expect(refused?.status()).toBe(400);
    expect(await tab.page.textContent('h1')).toContain('Authorization refused');
    expect(await styled(tab)).toMatch(/system-ui/); // the page's inline style applies under its CSP

    const failed = await tab.page.goto(`${sut.url}/auth/google/callback?code=x&state=not-a-flow`);
    expect(failed?.status()).toBeGreaterThanOrEqual(400);
    expect(await tab.page.textContent('h1')).toBe('Sign-in did not finish');
    await tab.page.click('#start-again');
    // ... and Cancel at Google on that sign-in: the page says access was declined, and its link starts again.
    await atGoogle(tab, 'canceller@example.com', 'deny');
    await reach(tab, 'the callback', onService('/auth/google/callback'));
    await tab.page.waitForSelector('#problem', STEP);
    expect(await tab.page.textContent('#problem')).toMatch(/Access was declined/);
    await tab.page.click('#start-again');
    await reach(tab, "Google's sign-in page", onGooglePage);
    expectClean(tab);
  }, 60_000);
});
