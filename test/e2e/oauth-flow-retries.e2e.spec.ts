import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import type { FaultRule } from '../support/fault-proxy.js';
import { Browser } from '../support/http-client.js';
import { authorizeUrl, pkceRequest, pressConsent, readConsentPage, registerPublicClient, type ConsentPage } from '../support/oauth-consent.js';

const S3_TIMEOUT_MS = 1500;
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';
const APPROVALS = /\/oauth\/approvals\//;
const CODES = /\/oauth\/codes\//;
const MARKERS = /\/sessions\/used\//;

/**
 * The steps of an authorization after the consent page with S3 failing (503, every answer lost): the person's retry
 * (pressing Allow again, reloading the hop back from Google) completes the authorization instead of being told
 * "already used", while a step that succeeded stays single use and the consent form stays bound to its browser.
 */
describe('OAuth authorization: retrying a step S3 failed', () => {
  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) });

  const down = (path: RegExp, fault: FaultRule['fault'] = 'answer'): FaultRule => (fault === 'answer' ? { method: 'PUT', path, fault, status: 503, times: Infinity } : { method: 'PUT', path, fault, times: Infinity });

  /** A fresh client and the consent page of its authorization request, in `browser`. */
  async function consentPage(browser: Browser): Promise<{ clientId: string; verifier: string; page: ConsentPage }> {
    const clientId = await registerPublicClient(app.sut, { redirect_uris: [REDIRECT_URI], client_name: 'retry app' });
    const { verifier, params } = await pkceRequest(clientId, REDIRECT_URI);
    const page = readConsentPage(await (await browser.get(authorizeUrl(app.sut.url, params), { accept: 'text/html' })).text());
    if (!page) throw new Error('no consent page');
    return { clientId, verifier, page };
  }

  /** Allow, then the Google sign-in as `email`, up to the hop back (/oauth/authorize/resume), not followed. */
  async function upToResume(browser: Browser, email: string): Promise<{ clientId: string; verifier: string; resume: string }> {
    const { clientId, verifier, page } = await consentPage(browser);
    const handoff = (await pressConsent(browser, page, 'allow')).headers.get('location') as string;
    const toGoogle = (await browser.get(handoff, { accept: 'text/html' })).headers.get('location') as string;
    const callback = await browser.get(await app.world.google.approve(toGoogle, { email }), { accept: 'text/html' });
    const resume = callback.headers.get('location') as string;
    expect(resume).toMatch(/\/oauth\/authorize\/resume\?ticket=/);
    return { clientId, verifier, resume };
  }

  async function exchange(clientId: string, code: string, verifier: string): Promise<number> {
    const res = await fetch(`${app.sut.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: REDIRECT_URI }),
    });
    return res.status;
  }

  const resumeCases: Array<[string, FaultRule]> = [
    ['the approval write answers 503', down(APPROVALS)],
    ['the code write answers 503', down(CODES)],
    ['every answer of the ticket\'s claim is lost (S3 applied it)', down(MARKERS, 'drop-answer')],
  ];

  it.each(resumeCases)('the hop back from Google where %s: a 503 page saying to reload, and the reload gets the code; a later reload is refused', async (label, rule) => {
    const browser = new Browser();
    const { clientId, verifier, resume } = await upToResume(browser, `resume-${resumeCases.findIndex(([l]) => l === label)}@example.com`);
    app.s3.inject(rule);
    const failed = await browser.get(resume, { accept: 'text/html' });
    app.s3.clear();
    expect(failed.status).toBe(503);
    const page = await failed.text();
    expect(page).toContain('S3');
    expect(page).toContain('reload this page');
    expect(page).not.toContain('already used');

    const retried = await browser.get(resume, { accept: 'text/html' });
    expect(retried.status).toBe(302);
    const back = new URL(retried.headers.get('location') as string);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
    expect(back.searchParams.get('state')).toBe('st-1');
    expect(await exchange(clientId, back.searchParams.get('code') as string, verifier)).toBe(200);

    // Once it succeeded, the link is spent, as before.
    const again = await browser.get(resume, { accept: 'text/html' });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('already used');
  });

  it('Allow pressed while every answer of the form\'s claim is lost: 503 saying to press again, and pressing Allow again goes on to the code', async () => {
    const browser = new Browser();
    const { clientId, verifier, page } = await consentPage(browser);
    app.s3.inject(down(MARKERS, 'drop-answer'));
    const failed = await pressConsent(browser, page, 'allow');
    app.s3.clear();
    expect(failed.status).toBe(503);
    expect(await failed.text()).toContain('press your choice again');

    // The same form, pressed again in the same browser (the back button, then Allow).
    const allowed = await pressConsent(browser, page, 'allow');
    expect(allowed.status).toBe(303);
    const handoff = allowed.headers.get('location') as string;
    expect(handoff).toContain('/auth/google?handoff=');
    const toGoogle = (await browser.get(handoff, { accept: 'text/html' })).headers.get('location') as string;
    const resume = (await browser.get(await app.world.google.approve(toGoogle, { email: 'allow-claim@example.com' }), { accept: 'text/html' })).headers.get('location') as string;
    const back = new URL((await browser.get(resume, { accept: 'text/html' })).headers.get('location') as string);
    expect(await exchange(clientId, back.searchParams.get('code') as string, verifier)).toBe(200);

    // Pressed once more after it went through: already submitted, as before.
    const third = await pressConsent(browser, page, 'allow');
    expect(third.status).toBe(403);
    expect(await third.text()).toContain('already submitted');
  });

  it('Allow on the page naming the signed-in person, while the code write answers 503: pressing Allow again gets the code; the form still works only in its own browser', async () => {
    // The page that names the signed-in person: the hop back opened in a browser other than the one that pressed
    // Allow before the sign-in (oauth-handoff.e2e.spec.ts). Its Allow writes the approval and the code at once.
    const first = new Browser();
    const { clientId, verifier, resume } = await upToResume(first, 'named-allow@example.com');
    const other = new Browser();
    const named = readConsentPage(await (await other.get(resume, { accept: 'text/html' })).text()) as ConsentPage;
    expect(named.signedInAs).toBe('named-allow@example.com');

    app.s3.inject(down(CODES));
    const failed = await pressConsent(other, named, 'allow');
    app.s3.clear();
    expect(failed.status).toBe(503);
    expect(await failed.text()).toContain('press your choice again');

    // CSRF still holds: the same form posted from a third browser (no consent cookie of its own) is refused.
    expect((await pressConsent(new Browser(), named, 'allow')).status).toBe(403);

    const retried = await pressConsent(other, named, 'allow');
    expect(retried.status).toBe(303);
    const back = new URL(retried.headers.get('location') as string);
    expect(back.searchParams.get('state')).toBe('st-1');
    expect(await exchange(clientId, back.searchParams.get('code') as string, verifier)).toBe(200);
    expect((await pressConsent(other, named, 'allow')).status).toBe(403); // single use once it went through
  });
});
