import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { getWithBearer, objectExists, postToken, signIn, startService, startWorld, type Service, type World } from '../support/harness.js';
import { Browser } from '../support/http-client.js';
import { approvalKey, authorizeInBrowser, authorizeUrl, pkceRequest, pressConsent, readConsentPage, registerPublicClient } from '../support/oauth-consent.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';

/**
 * POST /auth/revoke ends everything of the user, including what a sign-in before it left in flight: an
 * authorization code not yet exchanged, or the resume ticket between the Google sign-in and the code. Exchanged
 * after the revocation, on any replica, they are invalid_grant and start no session; a sign-in after it works.
 */
describe('OAuth codes from before a revocation', () => {
  let world: World;
  let sut: Service;
  let otherReplica: Service;
  let n = 0;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world);
    otherReplica = await startService(world);
  });
  afterAll(async () => {
    await sut?.close();
    await otherReplica?.close();
    await world?.close();
  });

  /** A fresh user, a public client and an authorization request of it. */
  async function setUp() {
    const email = `revoker-${++n}@example.com`;
    const clientId = await registerPublicClient(sut, { client_name: 'revoked app', redirect_uris: [REDIRECT] });
    const { params, verifier } = await pkceRequest(clientId, REDIRECT);
    return { email, clientId, verifier, url: authorizeUrl(sut.url, params) };
  }

  const exchange = (service: Service, clientId: string, code: string, verifier: string) =>
    fetch(`${service.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: REDIRECT }),
    });

  /** The user's sessions in S3 (their per-user index), as an operator would count them. */
  async function sessionsOf(email: string): Promise<number> {
    const listed = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket, Prefix: `sessions/by-user/${email}/` }));
    return listed.KeyCount ?? 0;
  }

  /** Revokes the user with a bearer of a browser sign-in of theirs. */
  async function revoke(email: string): Promise<void> {
    const own = await signIn(sut, world, email);
    const res = await postToken(sut, '/auth/revoke', own.access_token);
    expect(res.status).toBe(200);
    expect(await sessionsOf(email)).toBe(0);
  }

  async function expectRefused(res: Response): Promise<void> {
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: 400, error: 'invalid_grant', message: expect.stringMatching(/revoked .*Start a new authorization/) });
  }

  it('a code issued before the revocation is refused after it, on any replica, and starts no session', async () => {
    const { email, clientId, verifier, url } = await setUp();
    const { location } = await authorizeInBrowser(world, url, email);
    const code = location?.searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    await revoke(email);
    await expectRefused(await exchange(otherReplica, clientId, code as string, verifier));
    expect(await sessionsOf(email)).toBe(0);
  });

  /** Allow on our page, then the Google sign-in: the hop back to /oauth/authorize/resume, not followed yet. */
  async function allowedAndSignedIn(browser: Browser, email: string, url: string): Promise<string> {
    let res = await browser.get(url, { accept: 'text/html' });
    let resume: string | undefined;
    for (let hop = 0; hop < 8 && !resume; hop++) {
      if (res.status === 200) {
        res = await pressConsent(browser, readConsentPage(await res.text())!, 'allow');
        continue;
      }
      const next = res.headers.get('location') ?? '';
      if (next.startsWith(`${sut.url}/oauth/authorize/resume`)) resume = next;
      else res = await browser.get(next.startsWith(world.google.urls.auth) ? await world.google.approve(next, { email }) : next, { accept: 'text/html' });
    }
    expect(resume).toBeDefined();
    return resume as string;
  }

  it('a resume ticket from a sign-in before the revocation yields a code that is refused', async () => {
    const { email, clientId, verifier, url } = await setUp();
    const browser = new Browser();
    const resume = await allowedAndSignedIn(browser, email, url);
    await revoke(email);
    const back = await browser.get(resume, { accept: 'text/html' });
    const code = new URL(back.headers.get('location') ?? '').searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    await expectRefused(await exchange(sut, clientId, code as string, verifier));
    expect(await sessionsOf(email)).toBe(0);
  });

  it('an Allow pressed before the revocation is not recorded by a resume after it: that browser is asked again before any code', async () => {
    const { email, clientId, url } = await setUp();
    const browser = new Browser();
    const resume = await allowedAndSignedIn(browser, email, url);
    await revoke(email);
    await browser.get(resume, { accept: 'text/html' });
    // The revocation deleted the user's approvals; the hop back from before it must not write this one again, or
    // this browser (which remembers the user) would hand this client new codes without our page.
    expect(await objectExists(world, approvalKey(email, clientId))).toBe(false);
    const again = await authorizeInBrowser(world, url, email, { browser, decide: () => 'deny' });
    expect(again.consentPages).toHaveLength(1);
    expect(again.location?.searchParams.get('code')).toBeNull();
    expect(again.location?.searchParams.get('error')).toBe('access_denied');
  });

  it('a sign-in after the revocation gets its tokens as usual, at once', async () => {
    const { email, clientId, verifier, url } = await setUp();
    await revoke(email);
    const { location } = await authorizeInBrowser(world, url, email);
    const res = await exchange(otherReplica, clientId, location?.searchParams.get('code') as string, verifier);
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as { access_token: string; refresh_token: string };
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect((await getWithBearer(sut, '/auth/session', tokens.access_token)).status).toBe(200);
    expect(await sessionsOf(email)).toBe(1);
  });
});
