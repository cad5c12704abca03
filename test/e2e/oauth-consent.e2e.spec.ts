import { Browser } from '../support/http-client.js';
import { objectExists, readObject, signIn, startService, startWorld, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { approvalKey, authorizeInBrowser, authorizeUrl, pkceRequest as request, pressConsent, readConsentPage, registerPublicClient as register, type ConsentPage } from '../support/oauth-consent.js';
import { ALLOW_ARMING_SCRIPT, ALLOW_ARMING_SCRIPT_SRC } from '../../src/oauth/allow-arming.js';

const ATTACKER = 'https://attacker.example/steal';
const LOOPBACK = 'http://127.0.0.1:8765/callback';
const GMAIL_READ = 'https://www.googleapis.com/auth/gmail.readonly';
const DRIVE_READ = 'https://www.googleapis.com/auth/drive.readonly';

describe('Consent of our own before any code leaves (the confused-deputy attack)', () => {
  let world: World;
  let sut: Service;
  let replica: Service;
  let attackerClient: string;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
    replica = await startService(world);
    attackerClient = await register(sut, { client_name: 'Trusted Mail Helper', redirect_uris: [ATTACKER] });
  });
  afterAll(async () => {
    await replica?.close();
    await stopAll(world, sut);
  });

  it('a returning victim following the attacker\'s link gets our page naming attacker.example, and no code reaches it unless they press Allow there', async () => {
    const victim = new Browser();
    await signIn(sut, world, 'victim@example.com', victim); // signed in before: Google shows no consent screen now
    const { params } = await request(attackerClient, ATTACKER);
    const url = authorizeUrl(sut.url, params);

    // The first answer is our page, not a redirect to Google (nothing is forwarded before the person decides).
    const first = await victim.get(url, { accept: 'text/html' });
    expect(first.status).toBe(200);
    const page = readConsentPage(await first.text()) as ConsentPage;
    expect(page.host).toBe('attacker.example');
    expect(page.warning).toContain('attacker.example');
    expect(page.html).toContain('Trusted Mail Helper');

    // A victim who just follows redirects, never pressing Allow: the attacker gets nothing.
    const walked = await authorizeInBrowser(world, url, 'victim@example.com', { browser: victim, decide: () => 'deny' });
    expect(walked.location?.origin).toBe('https://attacker.example');
    expect(walked.location?.searchParams.get('code')).toBeNull();
    expect(walked.location?.searchParams.get('error')).toBe('access_denied');
    expect(walked.location?.searchParams.get('state')).toBe('st-1');
    expect(walked.location?.searchParams.get('iss')).toBe('https://broker.test');

    // Only pressing Allow on the page that names attacker.example sends a code there.
    const allowed = await authorizeInBrowser(world, url, 'victim@example.com', { browser: victim });
    expect(allowed.consentPages.map((p) => p.host)).toEqual(['attacker.example']);
    expect(allowed.location?.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('an approval of one client does not carry over to another: the remembered user still sees the page for a new client', async () => {
    const browser = new Browser();
    const good = await register(sut, { client_name: 'Good app', redirect_uris: [LOOPBACK] });
    const once = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(good, LOOPBACK)).params), 'carry@example.com', { browser });
    expect(once.consentPages).toHaveLength(1);
    expect(once.consentPages[0].warning).toBeUndefined(); // loopback: an application on this computer
    const evil = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(attackerClient, ATTACKER)).params), 'carry@example.com', { browser, decide: () => 'deny' });
    expect(evil.consentPages.map((p) => p.host)).toEqual(['attacker.example']);
    expect(evil.location?.searchParams.get('code')).toBeNull();
  });

  it('a returning user with the same client and no new scopes is not asked again, on any replica; a new scope or prompt=consent asks again', async () => {
    const browser = new Browser();
    const client = await register(sut, { client_name: 'Notes', redirect_uris: [LOOPBACK] });
    const first = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK, { scope: GMAIL_READ })).params), 'return@example.com', { browser });
    expect(first.consentPages).toHaveLength(1);
    expect(first.consentPages[0].access).toEqual(['Read your email and its attachments.']); // the scope in words
    for (const service of [sut, replica]) {
      const again = await authorizeInBrowser(world, authorizeUrl(service.url, (await request(client, LOOPBACK, { scope: GMAIL_READ })).params), 'return@example.com', { browser });
      expect(again.consentPages).toHaveLength(0);
      expect(again.location?.searchParams.get('code')).toEqual(expect.any(String));
    }
    const prompted = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK, { scope: GMAIL_READ, prompt: 'consent' })).params), 'return@example.com', { browser });
    expect(prompted.consentPages).toHaveLength(1); // prompt=consent asks again
    const wider = await authorizeInBrowser(world, authorizeUrl(replica.url, (await request(client, LOOPBACK, { scope: `${GMAIL_READ} ${DRIVE_READ}` })).params), 'return@example.com', { browser });
    expect(wider.consentPages).toHaveLength(1);
    expect(wider.location?.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('a different person signing in on a browser that remembers someone else is asked after the Google sign-in, by name', async () => {
    const browser = new Browser();
    const client = await register(sut, { client_name: 'Shared desk app', redirect_uris: [LOOPBACK] });
    await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), 'first@example.com', { browser });
    const second = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), 'second@example.com', { browser, decide: () => 'deny' });
    expect(second.consentPages).toHaveLength(1);
    expect(second.consentPages[0].signedInAs).toBe('second@example.com');
    expect(second.location?.searchParams.get('error')).toBe('access_denied');
    const allowed = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), 'second@example.com', { browser });
    expect(allowed.consentPages.map((p) => p.signedInAs)).toEqual(['second@example.com']);
    expect(allowed.location?.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('the page cannot be framed, cached or leak its URL, and escapes what the client registered', async () => {
    const odd = `${LOOPBACK}?q="><b>x</b>`;
    const client = await register(sut, { client_name: '<script>alert(1)</script>"><img src=x>', redirect_uris: [odd] });
    const res = await fetch(authorizeUrl(sut.url, (await request(client, odd)).params), { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    // same-origin: no Referer to other sites, and the form's POST keeps its Origin (no-referrer makes browsers send
    // `Origin: null`, refused as another site's post: test/browser/mcp-connect.browser.spec.ts).
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    // The page's one script is its own (it arms Allow: allow-arming.ts), allowed by its hash alone.
    expect([...html.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1])).toEqual([ALLOW_ARMING_SCRIPT]);
    expect(res.headers.get('content-security-policy')).toContain(`script-src ${ALLOW_ARMING_SCRIPT_SRC};`);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>x</b>'); // the redirect URI's query, shown escaped
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // A scope outside the vocabulary is refused (invalid_scope) on an error page that shows it escaped.
    const refused = await fetch(authorizeUrl(sut.url, (await request(client, odd, { scope: '<b>x</b>' })).params), { headers: { accept: 'text/html' } });
    expect(refused.status).toBe(400);
    const refusal = await refused.text();
    expect(refusal).toContain('invalid_scope');
    expect(refusal).not.toContain('<b>x</b>');
  });

  it('refuses a consent form posted without the browser\'s cookie, from another site, or twice', async () => {
    const client = await register(sut, { client_name: 'Form app', redirect_uris: [LOOPBACK] });
    const url = authorizeUrl(sut.url, (await request(client, LOOPBACK)).params);
    const owner = new Browser();
    const page = readConsentPage(await (await owner.get(url)).text()) as ConsentPage;
    // An attacker who copied the form into their own browser (no consent cookie of the victim's).
    const stranger = await pressConsent(new Browser(), page, 'allow');
    expect(stranger.status).toBe(403);
    // The victim's browser, but the POST comes from another site's page.
    const crossSite = await owner.post(page.action, { request: page.request, decision: 'allow' }, { origin: 'https://attacker.example' });
    expect(crossSite.status).toBe(403);
    // ...or from a page elsewhere whose Referrer-Policy is no-referrer (browsers then send `Origin: null`). Our own
    // page is same-origin for this reason, so a real browser's Allow carries our origin (mcp-connect.browser.spec.ts).
    const opaque = await owner.post(page.action, { request: page.request, decision: 'allow' }, { origin: 'null' });
    expect(opaque.status).toBe(403);
    const ok = await pressConsent(owner, page, 'allow');
    expect(ok.status).toBe(303);
    // On to the Google sign-in, through /auth/google (where the flow cookie is set).
    expect(ok.headers.get('location')).toMatch(new RegExp(`^${sut.url.replace(/[.?]/g, '\\$&')}/auth/google\\?handoff=`));
    const twice = await pressConsent(owner, page, 'allow');
    expect(twice.status).toBe(403);
    expect(await twice.text()).toContain('already submitted');
  });

  it('stores the approval per user and client in S3 only once the person both pressed Allow and signed in', async () => {
    const client = await register(sut, { client_name: 'Declined', redirect_uris: [LOOPBACK] });
    const key = approvalKey('declines@example.com', client);
    const declined = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK, { scope: GMAIL_READ })).params), 'declines@example.com', { google: { deny: true } });
    // Declined at Google: the client hears access_denied (oauth-google-decline.e2e.spec.ts), and gets no code.
    expect(declined.location?.searchParams.get('error')).toBe('access_denied');
    expect(declined.location?.searchParams.has('code')).toBe(false);
    expect(await objectExists(world, key)).toBe(false);
    await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK, { scope: GMAIL_READ })).params), 'declines@example.com');
    const { json } = await readObject(world, key);
    expect(json).toMatchObject({ version: 2, email: 'declines@example.com', clientId: client, grants: [{ resource: '/', scopes: [GMAIL_READ] }] });
  });

  it('the hop back from the Google sign-in works once', async () => {
    const client = await register(sut, { client_name: 'Hop', redirect_uris: [LOOPBACK] });
    const browser = new Browser();
    const page = readConsentPage(await (await browser.get(authorizeUrl(sut.url, (await request(client, LOOPBACK)).params))).text()) as ConsentPage;
    const handoff = (await pressConsent(browser, page, 'allow')).headers.get('location') as string;
    const toGoogle = (await browser.get(handoff)).headers.get('location') as string;
    const resume = (await browser.get(await world.google.approve(toGoogle, { email: 'hop@example.com' }))).headers.get('location') as string;
    expect(resume).toMatch(/\/oauth\/authorize\/resume\?ticket=/);
    expect(new URL((await browser.get(resume)).headers.get('location') as string).searchParams.get('code')).toEqual(expect.any(String));
    const replay = await new Browser().get(resume);
    expect(replay.status).toBe(400);
    expect(replay.headers.get('location')).toBeNull();
    // The ticket and the sealed consent form never reach a log line.
    expect(world.logs.text).not.toContain(new URL(resume).searchParams.get('ticket') as string);
    expect(world.logs.text).not.toContain(new URL(handoff).searchParams.get('handoff') as string);
    expect(world.logs.text).not.toContain(page.request);
  });
});

describe('Sign-in for an OAuth client goes through /auth/google (the flow cookie\'s path)', () => {
  let world: World;
  let sut: Service;
  let client: string;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
    client = await register(sut, { client_name: 'Looper', redirect_uris: [LOOPBACK] });
  });
  afterAll(() => stopAll(world, sut));

  /** Our consent page for a fresh request, Allow pressed: the handoff link the browser is sent to. */
  async function allowed(browser: Browser): Promise<string> {
    const page = readConsentPage(await (await browser.get(authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), { accept: 'text/html' })).text()) as ConsentPage;
    const res = await pressConsent(browser, page, 'allow');
    expect(res.status).toBe(303);
    return res.headers.get('location') as string;
  }

  it('a browser sent through /oauth/authorize again and again holds at most 5 flow cookies, and its latest authorization completes', async () => {
    const browser = new Browser();
    const toGoogle: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await browser.get(await allowed(browser), { accept: 'text/html' });
      expect(res.status).toBe(302);
      toGoogle.push(res.headers.get('location') as string);
    }
    // What the callback receives (a real browser sends /auth/google's cookies there, not to /oauth/authorize).
    const flows = browser.cookiesFor(`${sut.url}/auth/google/callback`).split('; ').filter((c) => c.startsWith('wsb_flow_'));
    expect(flows).toHaveLength(5);
    const resume = (await browser.get(await world.google.approve(toGoogle[11], { email: 'looper@example.com' }))).headers.get('location') as string;
    expect(resume).toMatch(/\/oauth\/authorize\/resume\?ticket=/);
    expect(new URL((await browser.get(resume)).headers.get('location') as string).searchParams.get('code')).toEqual(expect.any(String));
  });

  it('a handoff link not sealed by this service, altered, or empty -> 400 handoff_invalid, no sign-in started', async () => {
    const genuine = new URL(await allowed(new Browser())).searchParams.get('handoff') as string;
    const flowCookie = (await fetch(`${sut.url}/auth/google`, { redirect: 'manual' })).headers.getSetCookie().find((c) => c.startsWith('wsb_flow_')) as string;
    const altered = `${genuine.slice(0, -4)}${genuine.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    for (const handoff of [altered, 'x', '', flowCookie.split(';')[0].split('=')[1], 'a'.repeat(12_000)]) {
      const res = await fetch(`${sut.url}/auth/google?${new URLSearchParams({ handoff })}`, { redirect: 'manual' });
      expect({ len: handoff.length, status: res.status }).toEqual({ len: handoff.length, status: 400 });
      expect(await res.json()).toMatchObject({ error: 'handoff_invalid', message: expect.stringContaining('connect again') });
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    const ok = await fetch(`${sut.url}/auth/google?${new URLSearchParams({ handoff: genuine })}`, { redirect: 'manual' });
    expect(ok.status).toBe(302);
    expect(ok.headers.get('location')).toContain(world.google.urls.auth);
  });
});

describe('First-party static clients', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world, {
      OAUTH_STATIC_CLIENTS: JSON.stringify([
        { client_id: 'our-portal', client_name: 'Our portal', redirect_uris: [LOOPBACK], first_party: true },
        { client_id: 'partner-app', client_name: 'Partner', redirect_uris: [LOOPBACK] },
      ]),
    });
  });
  afterAll(() => stopAll(world, sut));

  it('skips the consent page for a first-party client only', async () => {
    const own = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request('our-portal', LOOPBACK)).params), 'staff@example.com');
    expect(own.consentPages).toHaveLength(0);
    expect(own.location?.searchParams.get('code')).toEqual(expect.any(String));
    const partner = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request('partner-app', LOOPBACK)).params), 'staff@example.com');
    expect(partner.consentPages).toHaveLength(1);
    expect(partner.consentPages[0].html).not.toContain('registered itself'); // an operator's client, not self-registered
  });
});

/** Where an approval is stored (`{OAUTH_PREFIX}approvals/{sha256(email)}/{sha256(client_id)}.json`, client-approvals.ts). */