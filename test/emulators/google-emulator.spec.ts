import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { GoogleEmulator, startGoogleEmulator } from '../../emulators/google/google-emulator.js';

const REDIRECT = 'http://127.0.0.1:1/callback';

describe('the Google emulator', () => {
  let google: GoogleEmulator;

  beforeAll(async () => {
    google = await startGoogleEmulator();
  });
  afterAll(async () => {
    await google.stop();
  });

  function authorizeUrl(extra: Record<string, string> = {}) {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(google.urls.auth);
    const params = {
      client_id: google.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid email https://www.googleapis.com/auth/gmail.readonly',
      state: 'xyz',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...extra,
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return { url: url.toString(), verifier };
  }

  const token = (body: Record<string, string>) =>
    fetch(google.urls.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: google.clientId, client_secret: google.clientSecret, ...body }),
    });

  async function codeFor(email: string, extra: Record<string, string> = {}) {
    const { url, verifier } = authorizeUrl(extra);
    const back = new URL(await google.approve(url, { email }));
    return { code: back.searchParams.get('code') as string, state: back.searchParams.get('state'), verifier };
  }

  async function signIn(email: string, extra: Record<string, string> = {}) {
    const { code, verifier } = await codeFor(email, extra);
    const res = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, string>;
  }

  it('serves a sign-in page with a form and an email field', async () => {
    const page = await fetch(authorizeUrl({ login_hint: 'page@example.com' }).url);
    const text = await page.text();
    expect(page.status).toBe(200);
    expect(text).toContain('<form method="post"');
    expect(text).toContain('value="page@example.com"');
  });

  it('runs the code flow with PKCE S256, one-time codes, and a signed id_token', async () => {
    const { code, state, verifier } = await codeFor('flow@example.com');
    expect(state).toBe('xyz');
    const res = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
    expect(decodeJwt(body.id_token)).toMatchObject({ aud: google.clientId, email: 'flow@example.com', email_verified: true });
    const again = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('rejects a wrong or missing PKCE verifier, and a wrong client secret', async () => {
    const { code } = await codeFor('pkce@example.com');
    expect((await token({ grant_type: 'authorization_code', code, code_verifier: 'wrong', redirect_uri: REDIRECT })).status).toBe(400);
    const second = await codeFor('pkce@example.com');
    expect((await token({ grant_type: 'authorization_code', code: second.code, redirect_uri: REDIRECT })).status).toBe(400);
    const third = await codeFor('pkce@example.com');
    const wrongSecret = await token({ grant_type: 'authorization_code', code: third.code, code_verifier: third.verifier, redirect_uri: REDIRECT, client_secret: 'nope' });
    expect(wrongSecret.status).toBe(401);
  });

  it('sends a refresh token on the first grant or with prompt=consent only', async () => {
    expect((await signIn('rt@example.com')).refresh_token).toEqual(expect.any(String));
    expect((await signIn('rt@example.com')).refresh_token).toBeUndefined();
    expect((await signIn('rt@example.com', { prompt: 'consent' })).refresh_token).toEqual(expect.any(String));
    google.omitRefreshTokenOnNextCodeExchange();
    expect((await signIn('rt-omit@example.com')).refresh_token).toBeUndefined();
  });

  it('refreshes without returning a refresh token, counts refreshes, and answers invalid_grant after revocation', async () => {
    const { refresh_token } = await signIn('refresh@example.com');
    const res = await token({ grant_type: 'refresh_token', refresh_token });
    const body = (await res.json()) as Record<string, string>;
    expect(body.access_token).toEqual(expect.any(String));
    expect(body).not.toHaveProperty('refresh_token');
    expect(google.refreshCount('refresh@example.com')).toBe(1);
    google.revokeUser('refresh@example.com');
    const dead = await token({ grant_type: 'refresh_token', refresh_token });
    expect(dead.status).toBe(400);
    expect(await dead.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('rejects expired access tokens at the APIs and userinfo while a refreshed one works', async () => {
    const { access_token, refresh_token } = await signIn('expire@example.com');
    const gmail = (t: string) => fetch(`${google.urls.apiRoot}gmail/v1/users/me/messages`, { headers: { authorization: `Bearer ${t}` } });
    expect((await gmail(access_token)).status).toBe(200);
    google.expireAccessTokens('expire@example.com');
    expect((await gmail(access_token)).status).toBe(401);
    expect((await fetch(google.urls.userinfo, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(401);
    const fresh = (await (await token({ grant_type: 'refresh_token', refresh_token })).json()) as Record<string, string>;
    expect((await gmail(fresh.access_token)).status).toBe(200);
    const info = await fetch(google.urls.userinfo, { headers: { authorization: `Bearer ${fresh.access_token}` } });
    expect(await info.json()).toMatchObject({ email: 'expire@example.com', email_verified: true });
  });

  it('answers each user with their own data, paginated', async () => {
    const a = await signIn('data-a@example.com');
    const b = await signIn('data-b@example.com');
    const list = async (t: string, pageToken?: string) =>
      (await (await fetch(`${google.urls.apiRoot}gmail/v1/users/me/messages?maxResults=3${pageToken ? `&pageToken=${pageToken}` : ''}`, { headers: { authorization: `Bearer ${t}` } })).json()) as {
        messages: Array<{ id: string }>;
        nextPageToken?: string;
      };
    const first = await list(a.access_token);
    const second = await list(a.access_token, first.nextPageToken);
    expect(first.messages.map((m) => m.id)).toEqual(google.messageIds('data-a@example.com').slice(0, 3));
    expect(second.messages.map((m) => m.id)).toEqual(google.messageIds('data-a@example.com').slice(3, 6));
    const other = await list(b.access_token);
    expect(other.messages.map((m) => m.id)).toEqual(google.messageIds('data-b@example.com').slice(0, 3));
    expect(google.messageIds('data-a@example.com')).not.toEqual(google.messageIds('data-b@example.com'));
  });

  it('fails the next call on request, once', async () => {
    const { refresh_token } = await signIn('fail@example.com');
    google.failNext('refresh', 'server_error');
    expect((await token({ grant_type: 'refresh_token', refresh_token })).status).toBe(503);
    expect((await token({ grant_type: 'refresh_token', refresh_token })).status).toBe(200);
    google.failNext('refresh', 'invalid_grant');
    expect((await token({ grant_type: 'refresh_token', refresh_token })).status).toBe(400);
    google.failNext('refresh', 'timeout');
    const hung = fetch(google.urls.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: google.clientId, client_secret: google.clientSecret, grant_type: 'refresh_token', refresh_token }),
      signal: AbortSignal.timeout(300),
    });
    await expect(hung).rejects.toThrow(/timeout|aborted/i); // the emulator never answers; only the client's timeout ends it
    expect((await token({ grant_type: 'refresh_token', refresh_token })).status).toBe(200);
  });

  it('revokes tokens at /revoke, recording them, and answers invalid_token for unknown ones', async () => {
    const { refresh_token } = await signIn('rev@example.com');
    const revoke = (t: string) => fetch(google.urls.revoke, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t }) });
    expect((await revoke(refresh_token)).status).toBe(200);
    expect(google.revocations).toContain(refresh_token);
    expect((await token({ grant_type: 'refresh_token', refresh_token })).status).toBe(400);
    expect((await revoke('unknown')).status).toBe(400);
  });

  it('offers the same controls over HTTP', async () => {
    const { access_token, refresh_token } = await signIn('ctl@example.com');
    await fetch(`${google.baseUrl}/__emulator/expire?email=ctl@example.com`, { method: 'POST' });
    expect((await fetch(google.urls.userinfo, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(401);
    await token({ grant_type: 'refresh_token', refresh_token });
    const count = (await (await fetch(`${google.baseUrl}/__emulator/refresh-count?email=ctl@example.com`)).json()) as { count: number };
    expect(count.count).toBe(1);
    await fetch(`${google.baseUrl}/__emulator/fail-next?endpoint=refresh&failure=server_error`, { method: 'POST' });
    expect((await token({ grant_type: 'refresh_token', refresh_token })).status).toBe(503);
    await fetch(`${google.baseUrl}/__emulator/revoke-user?email=ctl@example.com`, { method: 'POST' });
    expect((await token({ grant_type: 'refresh_token', refresh_token })).status).toBe(400);
  });
});
