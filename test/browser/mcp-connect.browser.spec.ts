import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, OAuthError, StreamableHTTPClientTransport, UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/client';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, describeInChromium, openTab as watchTab, startLoopback, type Loopback, type Watched, reach, STEP } from '../support/chromium.js';
import { startService, startWorld, stopAll, type Service, type World } from '../support/harness.js';
import { AppOAuthState } from '../support/mcp-oauth-app.js';

/**
 * A newcomer connects an MCP client (Claude Code, or any client made with the official SDK) in a real browser:
 * Debian's chromium driven by playwright-core, against the service and the Google emulator over real HTTP. The
 * client is the SDK's own (`@modelcontextprotocol/client`): the 401, discovery, dynamic registration with a loopback
 * redirect URI served by a node:http server here, the authorization URL; then the browser does what the person does
 * (our consent page, Google's sign-in page, back to the loopback callback), and the client finishes and calls a tool.
 *
 * The browser reaches Google's (the emulator's) pages as `localhost` and the service as `127.0.0.1`: two sites, as
 * accounts.google.com and the service are, so the SameSite rules of the service's cookies apply on the way back from
 * Google the way they do in production (ports do not make sites: on one host name the hops would be same-site).
 *
 * Without chromium this suite is reported as skipped, with a line saying so (`.ci/run` installs chromium; here:
 * `apt-get install -y chromium`).
 */
const { title, describe: inChromium } = describeInChromium('MCP connect', 'connecting an MCP client');

const EMAIL = 'mcp.newcomer@example.com';

/** The repo's in-memory MCP client app (AppOAuthState), with the `state` of each authorization request remembered. */
class McpApp extends AppOAuthState implements OAuthClientProvider {
  /** The state of the latest authorization request (the SDK asks for one per request). */
  lastState = '';
  state() {
    this.lastState = randomBytes(16).toString('base64url');
    return this.lastState;
  }
}

inChromium(title, () => {
  let world: World;
  let sut: Service;
  let profile: string;
  let browser: BrowserContext;
  let loopback: Loopback;
  let googleAuth: string;
  let mcpUrl: string;
  let issuer: string;

  beforeAll(async () => {
    loopback = await startLoopback();
    world = await startWorld();
    // Google's pages as `localhost`: another site than the service's 127.0.0.1 (see above).
    googleAuth = world.google.urls.auth.replace('//127.0.0.1:', '//localhost:');
    sut = await startService(world, {
      GOOGLE_AUTH_URL: googleAuth,
      // The issuer a newcomer's local service has: its PUBLIC_URL (the harness's shared https://broker.test does not
      // resolve, and the SDK fetches the issuer's metadata and checks the callback's iss against it).
      JWT_ISSUER: undefined,
    });
    mcpUrl = `${sut.url}/mcp`;
    issuer = ((await (await fetch(`${sut.url}/.well-known/oauth-authorization-server`)).json()) as { issuer: string }).issuer;
    profile = mkdtempSync(join(tmpdir(), 'chromium-profile-')); // a fresh --user-data-dir
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stopAll(world, sut);
    await loopback?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** The SDK client over the Streamable HTTP transport, with `app` as its OAuth provider and nothing else. */
  function sdk(app: McpApp) {
    const client = new Client({ name: app.name, version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: app });
    return { client, transport };
  }

  /** The client connects without a token: 401, discovery, registration (once), and the authorization URL. */
  async function authorizationUrl(app: McpApp): Promise<{ url: URL; transport: StreamableHTTPClientTransport }> {
    app.authorizationUrl = undefined;
    const { client, transport } = sdk(app);
    const refused = await client.connect(transport).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(UnauthorizedError); // the SDK's "go and authorize" after redirectToAuthorization
    if (!app.authorizationUrl) throw new Error(`the SDK produced no authorization URL: ${String(refused)}`);
    return { url: app.authorizationUrl, transport };
  }

  const openTab = (): Promise<Watched> => watchTab(browser);

  const onConsentPage = (url: string) => url.startsWith(`${sut.url}/oauth/authorize`);
  const onGooglePage = (url: string) => url.startsWith(googleAuth);
  const onLoopback = (url: string) => url.startsWith(loopback.redirectUri);


  /** Waits for the browser to land on the loopback callback: the query the client's server received. */
  async function landOnLoopback(tab: Watched): Promise<URLSearchParams> {
    await reach(tab, 'the loopback callback', onLoopback);
    await tab.page.waitForSelector('#done', STEP);
    const landed = new URL(tab.page.url());
    const got = loopback.received.at(-1);
    expect(got?.href).toBe(landed.href); // the node:http server got what the browser shows
    return landed.searchParams;
  }

  /** Google's (the emulator's) sign-in page: type the email, press Allow or Deny. */
  async function atGoogle(tab: Watched, decision: 'allow' | 'deny'): Promise<void> {
    await reach(tab, "Google's sign-in page", onGooglePage);
    if (decision === 'allow') await tab.page.fill('input[name=email]', EMAIL);
    await tab.page.click(`button[value=${decision}]`);
  }

  /** The client finishes with the callback's query, reconnects and calls a read-only tool: not an error. */
  async function finishAndUse(app: McpApp, transport: StreamableHTTPClientTransport, callback: URLSearchParams): Promise<void> {
    await transport.finishAuth(callback);
    expect(app.tokenSet?.access_token).toEqual(expect.any(String));
    const { client, transport: again } = sdk(app);
    await client.connect(again);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('search_gmail_messages');
      const found = (await client.callTool({ name: 'search_gmail_messages', arguments: { maxResults: 2 } })) as {
        isError?: boolean;
        content: unknown;
        structuredContent?: { messages: Array<{ id: string }> };
      };
      expect(found.isError).toBeFalsy();
      const ids = (found.structuredContent?.messages ?? []).map((m) => m.id);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.length).toBeLessThanOrEqual(2);
      expect(world.google.messageIds(EMAIL)).toEqual(expect.arrayContaining(ids));
    } finally {
      await client.close();
    }
  }

  let app: McpApp;

  it('a new client: 401 -> discovery -> registration -> our consent page -> Google -> loopback code -> tools -> a read-only call', async () => {
    app = new McpApp('Claude Code (browser test)', loopback.redirectUri);
    const { url, transport } = await authorizationUrl(app);
    expect(app.client?.client_id).toEqual(expect.any(String));
    expect(`${url.origin}${url.pathname}`).toBe(`${sut.url}/oauth/authorize`);
    expect(url.searchParams.get('redirect_uri')).toBe(loopback.redirectUri);
    expect(url.searchParams.get('resource')).toBe(mcpUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('state')).toBe(app.lastState);

    const tab = await openTab();
    await tab.page.goto(url.href);
    // Our consent page: who asks, where the code goes, what for.
    expect(onConsentPage(tab.page.url())).toBe(true);
    expect(await tab.page.textContent('h1')).toContain('Claude Code (browser test)');
    expect(await tab.page.textContent('#redirect-host')).toBe(new URL(loopback.redirectUri).host);
    const access = await tab.page.locator('ul li').allTextContents();
    expect(access).toContain('Read your email and its attachments.'); // the scopes the SDK asked for, in words
    await tab.page.click('button[value=allow]');

    await atGoogle(tab, 'allow');
    const back = await landOnLoopback(tab);
    expect(back.get('code')).toEqual(expect.any(String));
    expect(back.get('state')).toBe(app.lastState);
    expect(back.get('iss')).toBe(issuer);
    expect(back.has('error')).toBe(false);
    expect(tab.problems).toEqual([]);
    // The cookies the browser kept for the service (the consent form's binding, the remembered user, the sign-in
    // flow's): HttpOnly and SameSite=Lax, so they survived the top-level GETs back from Google's site.
    // (All of them: on plain http they are kept on /oauth and /auth, which cookies(sut.url), for `/`, leaves out.)
    const cookies = (await browser.cookies()).filter((c) => c.domain === new URL(sut.url).hostname);
    expect(cookies.map((c) => c.path)).toEqual(expect.arrayContaining(['/oauth']));
    expect(cookies.filter((c) => !c.httpOnly || c.sameSite !== 'Lax')).toEqual([]);
    await tab.page.close();

    await finishAndUse(app, transport, back);
  }, 60_000);

  it('the same client connecting again in the same browser: no consent page, via Google only, back with a code', async () => {
    const clientId = app.client?.client_id;
    app.tokenSet = undefined; // e.g. the person signed the client out, or its token store was wiped
    const { url, transport } = await authorizationUrl(app);
    expect(app.client?.client_id).toBe(clientId); // no second registration

    const tab = await openTab();
    await tab.page.goto(url.href);
    await atGoogle(tab, 'allow');
    const back = await landOnLoopback(tab);
    expect(back.get('code')).toEqual(expect.any(String));
    expect(back.get('state')).toBe(app.lastState);
    // docs/http-api.md: "that browser goes straight to Google when the remembered user already approved this client".
    expect(tab.shown.filter((u) => !onGooglePage(u) && !onLoopback(u))).toEqual([]);
    expect(tab.shown.some(onConsentPage)).toBe(false);
    expect(tab.problems).toEqual([]);
    await tab.page.close();

    await finishAndUse(app, transport, back);
  }, 60_000);

  it('Deny on our consent page: the loopback gets error=access_denied with the client\'s state, and no code', async () => {
    const denier = new McpApp('Denied MCP client', loopback.redirectUri);
    const { url, transport } = await authorizationUrl(denier);
    const tab = await openTab();
    await tab.page.goto(url.href);
    expect(onConsentPage(tab.page.url())).toBe(true); // another client: asked again, though this browser approved one
    expect(await tab.page.textContent('h1')).toContain('Denied MCP client');
    await tab.page.click('button[value=deny]');

    const back = await landOnLoopback(tab);
    expect(back.get('error')).toBe('access_denied');
    expect(back.get('state')).toBe(denier.lastState);
    expect(back.get('iss')).toBe(issuer);
    expect(back.has('code')).toBe(false);
    expect(tab.shown.some(onGooglePage)).toBe(false); // Deny goes nowhere near Google
    expect(tab.problems).toEqual([]);
    await tab.page.close();

    const finished = await transport.finishAuth(back).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(finished).toBeInstanceOf(OAuthError); // the SDK hears the decline (and checked iss first)
    expect((finished as OAuthError).code).toBe('access_denied');
    expect(denier.tokenSet).toBeUndefined();
  }, 60_000);

  it('Allow on our page, then Cancel at Google: the loopback gets error=access_denied with the client\'s state, and no code', async () => {
    const canceller = new McpApp('Cancelled MCP client', loopback.redirectUri);
    const { url, transport } = await authorizationUrl(canceller);
    const tab = await openTab();
    await tab.page.goto(url.href);
    expect(onConsentPage(tab.page.url())).toBe(true);
    await tab.page.click('button[value=allow]');
    await atGoogle(tab, 'deny');

    const back = await landOnLoopback(tab);
    expect(back.get('error')).toBe('access_denied');
    expect(back.get('state')).toBe(canceller.lastState);
    expect(back.get('iss')).toBe(issuer);
    expect(back.has('code')).toBe(false);
    expect(tab.problems).toEqual([]);
    await tab.page.close();

    const finished = await transport.finishAuth(back).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(finished).toBeInstanceOf(OAuthError);
    expect((finished as OAuthError).code).toBe('access_denied');
    expect(canceller.tokenSet).toBeUndefined();
  }, 60_000);
});
