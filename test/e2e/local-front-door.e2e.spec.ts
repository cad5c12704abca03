import { request } from 'node:http';
import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { startService, startSignIn, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { Browser } from '../support/http-client.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** GET with a Host header of our choosing (fetch may not set Host). */
function getWithHost(url: string, host: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A newcomer's first minutes in a browser, over HTTP: the front door, the token page, a reload, another host name. */
describe('the front door and the token page', () => {
  let world: World;
  let sut: Service;
  beforeAll(async () => void ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  /** Runs the sign-in as a browser would (Accept of a browser), returning the callback URL and the callback's answer. */
  async function browserSignIn(email: string, browser = new Browser()) {
    const callback = await world.google.approve(await startSignIn(sut, browser), { email });
    return { callback, res: await browser.get(callback, { accept: BROWSER_ACCEPT }), browser };
  }

  it('serves / as a small HTML page: what the service is, Sign in with Google, links to /docs and /health/ready (the metrics are not on this port)', async () => {
    const res = await fetch(`${sut.url}/`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const page = await res.text();
    expect(page).toContain('Google Workspace');
    expect(page).toMatch(/<a class="button" id="sign-in" href="\/auth\/google">Sign in with Google<\/a>/);
    for (const link of ['/docs', '/health/ready']) expect(page).toContain(`href="${link}"`);
    expect(page).not.toContain('href="/metrics"');
    expect(page).not.toMatch(/<script>|<style>| on[a-z]+="/); // nothing inline: the CSP forbids it
    const script = await fetch(`${sut.url}/assets/broker.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('clipboard');
    expect((await fetch(`${sut.url}/assets/broker.css`)).headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('answers a browser at the callback with the token page: the token, a copy button, an export line and three curl examples', async () => {
    const { res } = await browserSignIn('page.reader@example.com');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const page = await res.text();
    const token = /<pre id="token">([^<]+)<\/pre>/.exec(page)?.[1] as string;
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(page).toContain('data-copy="token"');
    expect(page).toContain(`export TOKEN=&#39;${token}&#39;`);
    expect(page.match(/curl -H &quot;Authorization: Bearer \$TOKEN&quot; &#39;http:\/\/127\.0\.0\.1:\d+\/[^&]+&#39;/g)).toHaveLength(3);
    expect(page).toContain('page.reader@example.com');
    const session = await fetch(`${sut.url}/auth/session`, { headers: { authorization: `Bearer ${token}` } });
    expect(session.status).toBe(200);
  });

  it('keeps the JSON contract for API clients (no Accept, */*, application/json)', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5']) {
      const browser = new Browser();
      const callback = await world.google.approve(await startSignIn(sut, browser), { email: 'api.client@example.com' });
      const res = await browser.get(callback, accept ? { accept } : {});
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: expect.any(Number), email: 'api.client@example.com', session_id: expect.any(String) });
    }
  });

  it('escapes what it shows: the characters of an email that mean something in HTML come out as text', async () => {
    // The most HTML a valid address can carry (src/common/email.ts refuses < and >): quotes and ampersands.
    const { res } = await browserSignIn("o'neil&co@example.com");
    const page = await res.text();
    expect(page).toContain('o&#39;neil&amp;co@example.com');
    expect(page).not.toContain("o'neil&co");
  });

  it('says "already used" when the token page is reloaded, not "not started in this browser": a page to a browser, JSON to a client', async () => {
    const { callback, res, browser } = await browserSignIn('reloader@example.com');
    expect(res.status).toBe(200);
    const reload = await browser.get(callback, { accept: BROWSER_ACCEPT });
    expect(reload.status).toBe(400);
    expect(reload.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await reload.text();
    expect(page).toMatch(/<p id="problem">This sign-in link was already used[^<]*Start a new sign-in at \/auth\/google\.<\/p>/);
    expect(page).toContain('<a class="button" id="start-again" href="/auth/google">');
    expect(page).not.toContain('not started in this browser');

    const asClient = await browser.get(callback);
    expect(asClient.status).toBe(400);
    const body = (await asClient.json()) as { error: string; message: string };
    expect(body).toEqual({ statusCode: 400, error: 'state_replayed', message: expect.stringMatching(/already used.*Start a new sign-in at \/auth\/google/) });
  });

  it('shows a browser the other callback errors as a page too (access denied at Google), with the same status', async () => {
    const browser = new Browser();
    const back = await world.google.approve(await startSignIn(sut, browser), { email: 'denier@example.com', deny: true });
    const res = await browser.get(back, { accept: BROWSER_ACCEPT });
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/<p id="problem">Access was declined[^<]*<\/p>/);
  });

  it('sends /auth/google on another host name (localhost for 127.0.0.1) to PUBLIC_URL first, setting no cookie there', async () => {
    const port = new URL(sut.url).port;
    const res = await getWithHost(`${sut.url}/auth/google?login_hint=ann%40example.com`, `localhost:${port}`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location as string);
    expect(location.origin).toBe(sut.url);
    expect(location.pathname).toBe('/auth/google');
    expect(location.searchParams.get('login_hint')).toBe('ann@example.com');
    expect(res.headers['set-cookie']).toBeUndefined();
    // On the right host the sign-in starts (Google's page), also after the redirect; a proxy rewriting Host cannot loop it.
    const browser = new Browser();
    const onRightHost = await browser.get(location.toString());
    expect(onRightHost.status).toBe(302);
    expect(onRightHost.headers.get('location')).toContain(world.google.urls.auth);
    const looped = await getWithHost(location.toString(), `localhost:${port}`);
    expect(looped.status).toBe(302);
    expect(looped.headers.location).toContain(world.google.urls.auth);
  });

  it('says how to get a scope the person unticked at Google: sign in again and grant it when the sign-in asks for it (as start:local does), GOOGLE_SCOPES only when it does not', async () => {
    const CONTACTS = 'https://www.googleapis.com/auth/contacts.readonly';
    // What start:local runs: the sign-in asks for every scope, so GOOGLE_SCOPES has nothing to add.
    const asksAll = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES });
    try {
      for (const [service, email, advice] of [
        [asksAll, 'unticker@example.com', /sign in again at \/auth\/google and grant it/],
        [sut, 'unticker2@example.com', /Add it to GOOGLE_SCOPES and have the user sign in again at \/auth\/google/],
      ] as const) {
        const browser = new Browser();
        const callback = await world.google.approve(await startSignIn(service, browser), { email, withhold: [CONTACTS] });
        const { access_token } = (await (await browser.get(callback)).json()) as { access_token: string };
        const res = await fetch(`${service.url}/v1/users/me/contacts?q=ada`, { headers: { authorization: `Bearer ${access_token}` } });
        expect(res.status).toBe(403);
        const body = (await res.json()) as { error: string; message: string; scope: string };
        expect(body).toMatchObject({ error: 'insufficient_scope', scope: CONTACTS });
        expect(body.message).toMatch(advice);
        if (service === asksAll) expect(body.message).not.toContain('GOOGLE_SCOPES');
      }
    } finally {
      await asksAll.close();
    }
  });

  it('sends /oauth/authorize on another host name to PUBLIC_URL first too, setting no cookie there (its consent form posts to PUBLIC_URL)', async () => {
    const port = new URL(sut.url).port;
    const query = 'client_id=some-client&response_type=code&state=s%201';
    const res = await getWithHost(`${sut.url}/oauth/authorize?${query}`, `localhost:${port}`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(`${sut.url}/oauth/authorize`);
    expect(location.searchParams.get('state')).toBe('s 1');
    expect(location.searchParams.get('client_id')).toBe('some-client');
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});
