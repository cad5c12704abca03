import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { objectExists, readObject, signIn } from '../support/harness.js';
import { Browser } from '../support/http-client.js';
import { authorizeInBrowser, authorizeUrl, readConsentPage, refreshGrant } from '../support/oauth-consent.js';
import { claimsOf, OAuthTestClient, REDIRECT } from '../support/oauth-tokens.js';

const GMAIL_READ = 'https://www.googleapis.com/auth/gmail.readonly';
const sha256 = (v: string) => createHash('sha256').update(v).digest('base64url');

/**
 * What a person approved an OAuth client for lasts only as long as their account does and reaches only as far as
 * the resource the consent page named: /auth/revoke forgets every approval (resumably, like the rest of the
 * revocation), and an approval for /mcp does not let a request for the whole service skip the page.
 */
describe('OAuth client approvals: ended by revocation, bound to the resource', () => {
  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: '1500', SESSION_CACHE_TTL_MS: '200' });
  let n = 0;

  const revoke = (token: string) => fetch(`${app.sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  /** A fresh authorization request of `client` (PKCE S256), with `extra` parameters (scope, resource). */
  function request(client: OAuthTestClient, extra: Record<string, string>) {
    const verifier = randomBytes(32).toString('base64url');
    const url = authorizeUrl(app.sut.url, { client_id: client.clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: sha256(verifier), code_challenge_method: 'S256', ...extra });
    return { verifier, url };
  }

  /** What the browser is shown first for the request: our consent page, or straight on to Google's sign-in. */
  async function firstStep(browser: Browser, client: OAuthTestClient, extra: Record<string, string>): Promise<'consent page' | 'Google sign-in'> {
    const res = await browser.get(request(client, extra).url, { accept: 'text/html' });
    if (res.status === 200 && readConsentPage(await res.text())) return 'consent page';
    // Sign-in goes through /auth/google (the flow cookie's path), which sends the browser on to Google.
    const location = res.headers.get('location') ?? '';
    if (res.status === 302 && location.startsWith(`${app.sut.url}/auth/google?handoff=`)) {
      const next = await browser.get(location, { accept: 'text/html' });
      if (next.status === 302 && next.headers.get('location')?.startsWith(app.world.google.urls.auth)) return 'Google sign-in';
    }
    throw new Error(`unexpected answer ${res.status} ${res.headers.get('location')}`);
  }

  /** The whole flow in the browser (Allow on every consent page), then the code exchange. */
  async function authorize(browser: Browser, client: OAuthTestClient, email: string, extra: Record<string, string>) {
    const { verifier, url } = request(client, extra);
    const walked = await authorizeInBrowser(app.world, url, email, { browser });
    const code = walked.location?.searchParams.get('code');
    if (!code) throw new Error(`no code: ${walked.location} ${walked.stoppedAt?.status}`);
    const tokens = await client.token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(tokens.status).toBe(200);
    return { consentPages: walked.consentPages.length, tokens: tokens.json as { access_token: string; refresh_token: string } };
  }

  /** The approval objects of a user in S3, as an operator lists them. */
  async function approvalsOf(email: string): Promise<string[]> {
    const out = await app.world.admin.send(new ListObjectsV2Command({ Bucket: app.world.bucket, Prefix: `oauth/approvals/${sha256(email)}/` }));
    return (out.Contents ?? []).map((o) => o.Key ?? '');
  }

  it('after /auth/revoke the same browser sees our consent page again, and every OAuth client\'s refresh token of the user is refused', async () => {
    const email = `revoked${++n}@example.com`;
    const browser = new Browser();
    const x = await OAuthTestClient.register(app.sut, app.world);
    const y = await OAuthTestClient.register(app.sut, app.world);
    const first = await authorize(browser, x, email, { scope: GMAIL_READ });
    expect(first.consentPages).toBe(1);
    const yTokens = await authorize(browser, y, email, { scope: GMAIL_READ });
    // Before the revocation the approval lets this browser skip the page: the check below is not vacuous.
    expect(await firstStep(browser, x, { scope: GMAIL_READ })).toBe('Google sign-in');
    expect(await approvalsOf(email)).toHaveLength(2);

    const browserSignIn = await signIn(app.sut, app.world, email);
    const revoked = await revoke(browserSignIn.access_token);
    expect(revoked.status).toBe(200);

    expect(await approvalsOf(email)).toEqual([]);
    expect(await firstStep(browser, x, { scope: GMAIL_READ })).toBe('consent page');
    expect(await firstStep(browser, y, { scope: GMAIL_READ })).toBe('consent page');
    for (const [client, token] of [[x, first.tokens.refresh_token], [y, yTokens.tokens.refresh_token]] as const) {
      const refused = await refreshGrant(app.sut.url, client.clientId, token);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_grant');
    }
    // Allowing again works as the first time did, and is remembered again.
    expect((await authorize(browser, x, email, { scope: GMAIL_READ })).consentPages).toBe(1);
    expect(await firstStep(browser, x, { scope: GMAIL_READ })).toBe('Google sign-in');
  });

  it('an approval for /mcp does not cover the whole service: a request without resource, or for PUBLIC_URL, shows the page', async () => {
    const email = `mcp-only${++n}@example.com`;
    const browser = new Browser();
    const client = await OAuthTestClient.register(app.sut, app.world);
    const mcp = { resource: `${app.sut.url}/mcp`, scope: GMAIL_READ };
    const granted = await authorize(browser, client, email, mcp);
    expect(granted.consentPages).toBe(1);
    expect(claimsOf(granted.tokens.access_token).aud).toBe(`${app.sut.url}/mcp`);

    expect(await firstStep(browser, client, { scope: GMAIL_READ })).toBe('consent page');
    expect(await firstStep(browser, client, { resource: app.sut.url, scope: GMAIL_READ })).toBe('consent page');
    expect(await firstStep(browser, client, { resource: `${app.sut.url}/v1`, scope: GMAIL_READ })).toBe('consent page');
    // The same resource and scopes: still remembered, straight on to Google, and the token is again for /mcp only.
    expect(await firstStep(browser, client, mcp)).toBe('Google sign-in');
    const again = await authorize(browser, client, email, mcp);
    expect(again.consentPages).toBe(0);
    expect(claimsOf(again.tokens.access_token).aud).toBe(`${app.sut.url}/mcp`);
  });

  it('an approval for the whole service covers /mcp (wider covers narrower), and keeps what was approved per resource', async () => {
    const email = `whole${++n}@example.com`;
    const browser = new Browser();
    const client = await OAuthTestClient.register(app.sut, app.world);
    expect((await authorize(browser, client, email, { scope: GMAIL_READ })).consentPages).toBe(1);
    expect(await firstStep(browser, client, { resource: `${app.sut.url}/mcp`, scope: GMAIL_READ })).toBe('Google sign-in');
    expect(await firstStep(browser, client, { resource: `${app.sut.url}/`, scope: GMAIL_READ })).toBe('Google sign-in');
    // A scope approved for /mcp only adds nothing to the whole service.
    const drive = 'https://www.googleapis.com/auth/drive.readonly';
    expect((await authorize(browser, client, email, { resource: `${app.sut.url}/mcp`, scope: drive })).consentPages).toBe(1);
    expect(await firstStep(browser, client, { resource: `${app.sut.url}/mcp`, scope: `${GMAIL_READ} ${drive}` })).toBe('Google sign-in');
    expect(await firstStep(browser, client, { scope: drive })).toBe('consent page');
    const { json } = await readObject(app.world, `oauth/approvals/${sha256(email)}/${sha256(client.clientId)}.json`);
    expect(json.grants).toEqual([
      { resource: '/', scopes: [GMAIL_READ] },
      { resource: '/mcp', scopes: [drive] },
    ]);
  });

  it('an approval stored before resources were recorded lets nothing skip the page; the next Allow replaces it', async () => {
    const email = `legacy${++n}@example.com`;
    const browser = new Browser();
    // The browser remembers the user (they approved another client in it).
    await authorize(browser, await OAuthTestClient.register(app.sut, app.world), email, {});
    const client = await OAuthTestClient.register(app.sut, app.world);
    const legacyKey = `oauth/approvals/${sha256(`${email}\0${client.clientId}`)}.json`;
    const legacy = { version: 1, email, clientId: client.clientId, scopes: [GMAIL_READ, '(default)'], approvedAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
    await app.world.admin.send(new PutObjectCommand({ Bucket: app.world.bucket, Key: legacyKey, Body: JSON.stringify(legacy), ContentType: 'application/json' }));

    expect(await firstStep(browser, client, { scope: GMAIL_READ })).toBe('consent page');
    expect((await authorize(browser, client, email, { scope: GMAIL_READ })).consentPages).toBe(1);
    expect(await objectExists(app.world, legacyKey)).toBe(false);
    expect(await firstStep(browser, client, { scope: GMAIL_READ })).toBe('Google sign-in');
  });

  it('the approvals listing failing -> 503 naming it, before anything changed; the same token then finishes the revocation', async () => {
    const email = `approvals-list-fault${++n}@example.com`;
    const browser = new Browser();
    const client = await OAuthTestClient.register(app.sut, app.world);
    await authorize(browser, client, email, { scope: GMAIL_READ });
    const session = await signIn(app.sut, app.world, email);
    expect(await approvalsOf(email)).toHaveLength(1);

    // Only the approvals' listing (the sessions' listing is a GET of the same bucket path, with another prefix).
    const handle = app.s3.inject({ method: 'GET', path: `/${app.world.bucket}`, query: /prefix=oauth\/approvals\//, fault: 'reset', times: Infinity });
    const failed = await revoke(session.access_token);
    handle.remove();
    expect(handle.hits).toBeGreaterThan(0);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ error: 'revocation_incomplete', message: expect.stringContaining('listing the OAuth client approvals') });
    // It is one of the first reads: no mark, nothing deleted, the caller still signed in.
    expect(await objectExists(app.world, `sessions/revoking/${email}.json`)).toBe(false);
    expect(await objectExists(app.world, `credentials/${email}.json`)).toBe(true);
    expect(await approvalsOf(email)).toHaveLength(1);
    expect((await fetch(`${app.sut.url}/auth/session`, { headers: { authorization: `Bearer ${session.access_token}` } })).status).toBe(200);

    const retried = await revoke(session.access_token);
    expect(retried.status).toBe(200);
    expect(await approvalsOf(email)).toEqual([]);
    expect(await objectExists(app.world, `credentials/${email}.json`)).toBe(false);
    expect(await firstStep(browser, client, { scope: GMAIL_READ })).toBe('consent page');
  });

  it.each(['reset', 'drop-answer'] as const)('an approvals delete failing (%s) -> 503 with a retry hint; the retry finishes it', async (fault) => {
    const email = `approvals-fault${++n}@example.com`;
    const browser = new Browser();
    const client = await OAuthTestClient.register(app.sut, app.world);
    const oauthTokens = await authorize(browser, client, email, { scope: GMAIL_READ });
    const first = await signIn(app.sut, app.world, email);
    const second = await signIn(app.sut, app.world, email);
    expect(await approvalsOf(email)).toHaveLength(1);

    // The SDK retries a call once by itself: every attempt fails until the first revoke has answered.
    const handle = app.s3.inject({ method: 'DELETE', path: `/${app.world.bucket}/oauth/approvals/`, fault, times: Infinity });
    const failed = await revoke(first.access_token);
    handle.remove();
    expect(handle.hits).toBeGreaterThan(0);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await failed.json()).toMatchObject({ statusCode: 503, error: 'revocation_incomplete', message: expect.stringContaining('OAuth client approvals') });
    // Unfinished: the mark stays for a retry to find.
    expect(await objectExists(app.world, `sessions/revoking/${email}.json`)).toBe(true);

    await new Promise((r) => setTimeout(r, 250)); // past SESSION_CACHE_TTL_MS: the retry sees S3's view
    const retried = await revoke(second.access_token);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ revoked: true });
    expect(await approvalsOf(email)).toEqual([]);
    expect(await objectExists(app.world, `sessions/revoking/${email}.json`)).toBe(false);
    expect(await firstStep(browser, client, { scope: GMAIL_READ })).toBe('consent page');
    expect((await refreshGrant(app.sut.url, client.clientId, oauthTokens.tokens.refresh_token)).body.error).toBe('invalid_grant');
  });
});
