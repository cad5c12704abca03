import { createServer as createHttpsServer, type Server } from 'node:https';
import { request as httpRequest } from 'node:http';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, describeInChromium, openTab, startLoopback, type Loopback, type Watched, reach, STEP } from '../support/chromium.js';
import { startService, startWorld, type Service, type World } from '../support/harness.js';
import { authorizeUrl, pkceRequest, registerPublicClient } from '../support/oauth-consent.js';
import { selfSigned } from '../support/self-signed.js';

/**
 * The pages over https, as in production: a TLS-terminating proxy (self-signed certificate) in front of the service,
 * PUBLIC_URL https, so the sign-in and consent cookies are Secure with the __Host- prefix (Path=/). Chromium opens
 * the front door, signs in to the token page, and connects an OAuth client through our consent page, Google's
 * (the emulator's, plain http on `localhost`: another site) and back, then a second person on that browser gets the
 * page naming them. The http specs beside this one cannot see what only the Secure/__Host- cookies change.
 */
const { title, describe: inChromium } = describeInChromium('https pages');

/** An https server that forwards every request, Host unchanged, to `target` over http (what a load balancer does). */
async function startTlsProxy(): Promise<{ url: string; target: { url: string }; close(): Promise<void> }> {
  const target = { url: '' };
  const server: Server = createHttpsServer(selfSigned(), (req, res) => {
    const to = new URL(req.url ?? '/', target.url);
    const upstream = httpRequest(to, { method: req.method, headers: { ...req.headers, 'x-forwarded-proto': 'https' } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    target,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

inChromium(title, () => {
  let world: World;
  let sut: Service;
  let proxy: Awaited<ReturnType<typeof startTlsProxy>>;
  let loopback: Loopback;
  let chrome: Browser;
  let googleAuth: string;
  let base: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    loopback = await startLoopback();
    world = await startWorld();
    proxy = await startTlsProxy();
    base = proxy.url;
    googleAuth = world.google.urls.auth.replace('//127.0.0.1:', '//localhost:');
    sut = await startService(world, { PUBLIC_URL: base, GOOGLE_AUTH_URL: googleAuth });
    proxy.target.url = sut.url;
    chrome = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  }, 60_000);
  afterAll(async () => {
    await chrome?.close();
    await sut?.close();
    await proxy?.close();
    await world?.close();
    await loopback?.close();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  async function personsBrowser(): Promise<{ tab: Watched; context: BrowserContext }> {
    const context = await chrome.newContext({ ignoreHTTPSErrors: true }); // the self-signed certificate
    contexts.push(context);
    return { tab: await openTab(context), context };
  }


  async function atGoogle(tab: Watched, email: string): Promise<void> {
    await reach(tab, "Google's sign-in page", (u) => u.startsWith(googleAuth));
    await tab.page.fill('input[name=email]', email);
    await tab.page.click('button[value=allow]');
  }

  async function landOnLoopback(tab: Watched): Promise<URLSearchParams> {
    await reach(tab, 'the loopback callback', (u) => u.startsWith(loopback.redirectUri));
    await tab.page.waitForSelector('#done', STEP);
    return new URL(tab.page.url()).searchParams;
  }

  it('the front door and the sign-in over https: the token page, with __Host- cookies only', async () => {
    const { tab, context } = await personsBrowser();
    await tab.page.goto(`${base}/`);
    await tab.page.click('#sign-in');
    await atGoogle(tab, 'https.person@example.com');
    await tab.page.waitForSelector('#token', STEP);
    expect(await tab.page.textContent('#email')).toBe('https.person@example.com');
    const session = await fetch(`${sut.url}/auth/session`, { headers: { authorization: `Bearer ${((await tab.page.textContent('#token')) ?? '').trim()}` } });
    expect(session.status).toBe(200);
    const cookies = await context.cookies();
    expect(cookies.filter((c) => !c.name.startsWith('__Host-') || !c.secure || c.path !== '/' || !c.httpOnly)).toEqual([]);
    await tab.page.reload(); // the flow cookie is still there, marked used: "already used", with the way to start again
    expect(await tab.page.textContent('#problem')).toMatch(/already used/);
    expect(tab.problems).toEqual([]);
    expect(tab.failedLoads).toEqual([]);
  }, 60_000);

  it('an OAuth client over https: consent, Google, a code; then a different person on that browser is asked by name, and Allow gives a code', async () => {
    const clientId = await registerPublicClient(sut, { redirect_uris: [loopback.redirectUri], client_name: 'TLS app' });
    const request = async () => authorizeUrl(base, (await pkceRequest(clientId, loopback.redirectUri)).params);
    const { tab, context } = await personsBrowser();
    await tab.page.goto(await request());
    await tab.page.click('button[value=allow]');
    await atGoogle(tab, 'first.tls@example.com');
    expect((await landOnLoopback(tab)).get('code')).toEqual(expect.any(String));

    await tab.page.goto(await request());
    await atGoogle(tab, 'second.tls@example.com');
    await reach(tab, 'the consent page after the sign-in', (u) => u.startsWith(`${base}/oauth/authorize/resume`));
    expect(await tab.page.textContent('body')).toContain('Signed in as second.tls@example.com.');
    await tab.page.click('button[value=allow]');
    expect((await landOnLoopback(tab)).get('code')).toEqual(expect.any(String));
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name)).toEqual(expect.arrayContaining(['__Host-wsb_oauth_csrf', '__Host-wsb_oauth_user']));
    expect(cookies.filter((c) => !c.name.startsWith('__Host-') || !c.secure || c.path !== '/' || !c.httpOnly || c.sameSite !== 'Lax')).toEqual([]);
    expect(tab.problems).toEqual([]);
    expect(tab.failedLoads).toEqual([]);
  }, 60_000);
});
