import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { GoogleEmulator, startGoogleEmulator } from '../../emulators/google/google-emulator.js';

// Real HTTP against the emulator, as the service talks to it; nothing is called in-process except the controls.
const REDIRECT = 'http://127.0.0.1:1/callback';
const GMAIL = 'https://www.googleapis.com/auth/gmail.readonly';
const ALL = `openid email ${GMAIL} https://www.googleapis.com/auth/drive.readonly https://www.googleapis.com/auth/calendar.readonly`;
type Json = Record<string, any>;

describe('the Google emulator', () => {
  let google: GoogleEmulator;
  beforeAll(async () => void (google = await startGoogleEmulator()));
  afterAll(() => google.stop()); // also releases anything a 'timeout' failure left hanging

  function authorizeUrl(extra: Record<string, string | undefined> = {}) {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(google.urls.auth);
    // What the service sends (DESIGN.md, HTTP contract), minus what a test does not need.
    const params: Record<string, string | undefined> = { client_id: google.clientId, response_type: 'code', redirect_uri: REDIRECT, state: 'xyz',
      scope: `openid email profile ${GMAIL}`, access_type: 'offline', code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256', ...extra };
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    return { url: url.toString(), verifier };
  }
  const form = (url: string, body: Record<string, string | undefined>, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(Object.entries(body).filter((e): e is [string, string] => e[1] !== undefined)),
    });
  const token = (body: Record<string, string | undefined>) => form(google.urls.token, { client_id: google.clientId, client_secret: google.clientSecret, ...body });
  const refresh = (refresh_token: string) => token({ grant_type: 'refresh_token', refresh_token });
  const get = (url: string, accessToken: string) => fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });
  const api = (path: string, accessToken: string) => get(`${google.urls.apiRoot}${path}`, accessToken);

  async function codeFor(email: string, extra: Record<string, string | undefined> = {}, user: { emailVerified?: boolean } = {}) {
    const { url, verifier } = authorizeUrl(extra);
    const back = new URL(await google.approve(url, { email, ...user }));
    return { code: back.searchParams.get('code') as string, state: back.searchParams.get('state'), verifier };
  }
  async function signIn(email: string, extra: Record<string, string | undefined> = {}, user: { emailVerified?: boolean } = {}): Promise<Json> {
    const { code, verifier } = await codeFor(email, extra, user);
    const res = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(res.status).toBe(200);
    return (await res.json()) as Json;
  }

  it('serves a sign-in page: a form posting the decision, the email prefilled from login_hint and escaped', async () => {
    const page = await fetch(authorizeUrl({ login_hint: 'page@example.com"><script>' }).url);
    const text = await page.text();
    expect(page.status).toBe(200);
    expect(text).toMatch(/<form method="post" action="[^"]+">/);
    expect(text).toContain('value="page@example.com&quot;&gt;&lt;script&gt;"');
    expect(text).toMatch(/value="allow">Allow<.*value="deny" formnovalidate>Deny</s);
  });

  it.each([
    [{ client_id: 'someone-else' }, 401, 'invalid_client'],
    [{ redirect_uri: undefined }, 400, 'invalid_request'],
    [{ response_type: 'token' }, 400, 'unsupported_response_type'],
    [{ scope: undefined }, 400, 'invalid_request'],
    [{ code_challenge_method: 'S512' }, 400, 'invalid_request'],
    [{ code_challenge: 'too-short' }, 400, 'invalid_request'],
  ])('refuses a bad authorize request %j on its error page, and approve() reports it', async (extra, status, error) => {
    const { url } = authorizeUrl(extra);
    const page = await fetch(url);
    expect(page.status).toBe(status);
    expect(await page.text()).toContain(`Error ${status}: <span id="error">${error}</span>`);
    await expect(google.approve(url, { email: 'x@example.com' })).rejects.toThrow(error);
  });

  it('runs the code flow with PKCE S256 and answers with a signed id_token, verifiable with the JWKS', async () => {
    const { code, state, verifier } = await codeFor('Flow@Example.com', { nonce: 'n-1' });
    expect(state).toBe('xyz');
    const res = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
    // Like Google, the short OpenID scope names come back in their long form.
    expect(body.scope.split(' ')).toEqual(['openid', 'https://www.googleapis.com/auth/userinfo.email', 'https://www.googleapis.com/auth/userinfo.profile', GMAIL]);
    const discovery = (await (await fetch(`${google.baseUrl}/.well-known/openid-configuration`)).json()) as Json;
    expect(discovery).toMatchObject({ issuer: google.baseUrl, authorization_endpoint: google.urls.auth, token_endpoint: google.urls.token });
    const { payload } = await jwtVerify(body.id_token, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: google.baseUrl, audience: google.clientId });
    expect((await fetch(`${google.baseUrl}/authorize`)).status).toBe(404); // oauth2-mock-server's stateless routes stay out of reach
    expect(payload).toMatchObject({ email: 'flow@example.com', email_verified: true, nonce: 'n-1', sub: expect.stringMatching(/^\d{21}$/) });
    const info = (await (await get(google.urls.userinfo, body.access_token)).json()) as Json;
    expect(info).toMatchObject({ sub: payload.sub, email: 'flow@example.com', email_verified: true, name: 'Flow', picture: expect.any(String) });
    // The sub is stable per user.
    expect(decodeJwt((await signIn('flow@example.com')).id_token).sub).toBe(payload.sub);
  });

  it('accepts a code once, and only with its redirect_uri and the right PKCE verifier', async () => {
    const exchange = (c: { code: string }, extra: Record<string, string | undefined>) =>
      token({ grant_type: 'authorization_code', code: c.code, redirect_uri: REDIRECT, ...extra }).then(async (r) => [r.status, ((await r.json()) as Json).error]);
    const first = await codeFor('once@example.com');
    expect(await exchange(first, { code_verifier: first.verifier })).toEqual([200, undefined]);
    expect(await exchange(first, { code_verifier: first.verifier })).toEqual([400, 'invalid_grant']);
    const wrong = await codeFor('once@example.com');
    expect(await exchange(wrong, { code_verifier: randomBytes(32).toString('base64url') })).toEqual([400, 'invalid_grant']);
    expect(await exchange(wrong, { code_verifier: wrong.verifier })).toEqual([400, 'invalid_grant']); // a failed try burns the code
    const missing = await codeFor('once@example.com');
    expect(await exchange(missing, {})).toEqual([400, 'invalid_grant']);
    const elsewhere = await codeFor('once@example.com');
    expect(await exchange(elsewhere, { code_verifier: elsewhere.verifier, redirect_uri: 'http://127.0.0.1:2/cb' })).toEqual([400, 'redirect_uri_mismatch']);
    const plain = await codeFor('once@example.com', { code_challenge: 'p'.repeat(43), code_challenge_method: 'plain' });
    expect(await exchange(plain, { code_verifier: 'p'.repeat(43) })).toEqual([200, undefined]);
    const without = await codeFor('once@example.com', { code_challenge: undefined, code_challenge_method: undefined });
    expect(await exchange(without, { code_verifier: without.verifier })).toEqual([400, 'invalid_grant']); // not needed
    expect(await exchange({ code: 'made-up' }, {})).toEqual([400, 'invalid_grant']);
  });

  it('authenticates the client in the body or with HTTP Basic', async () => {
    const c = await codeFor('client@example.com');
    const base = { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT };
    expect((await token({ ...base, client_secret: 'nope' })).status).toBe(401);
    expect((await token({ ...base, client_id: 'other' })).status).toBe(401);
    expect((await form(google.urls.token, { ...base })).status).toBe(400); // no client at all
    const basic = `Basic ${Buffer.from(`${google.clientId}:${google.clientSecret}`).toString('base64')}`;
    expect((await form(google.urls.token, base, { authorization: basic })).status).toBe(200);
  });

  it('sends the person back with access_denied on Deny, and carries an unverified email through', async () => {
    const denied = new URL(await google.approve(authorizeUrl().url, { email: 'no@example.com', deny: true }));
    expect([denied.origin + denied.pathname, denied.searchParams.get('error'), denied.searchParams.get('state')]).toEqual([REDIRECT, 'access_denied', 'xyz']);
    expect(denied.searchParams.has('code')).toBe(false);
    const body = await signIn('unverified@example.com', {}, { emailVerified: false });
    expect(decodeJwt(body.id_token).email_verified).toBe(false);
    expect(await (await get(google.urls.userinfo, body.access_token)).json()).toMatchObject({ email_verified: false });
  });

  it('sends a refresh token only for offline access, on the first grant or with prompt=consent', async () => {
    expect((await signIn('rt@example.com', { access_type: undefined })).refresh_token).toBeUndefined(); // online
    expect((await signIn('rt@example.com')).refresh_token).toEqual(expect.any(String)); // first offline grant
    expect((await signIn('rt@example.com')).refresh_token).toBeUndefined();
    expect((await signIn('rt@example.com', { prompt: 'consent' })).refresh_token).toEqual(expect.any(String));
    google.revokeUser('rt@example.com'); // grant forgotten: the next sign-in is a first grant again
    expect((await signIn('rt@example.com')).refresh_token).toEqual(expect.any(String));
    google.omitRefreshTokenOnNextCodeExchange();
    expect((await signIn('rt-omit@example.com')).refresh_token).toBeUndefined();
    expect((await signIn('rt-omit@example.com', { prompt: 'consent' })).refresh_token).toEqual(expect.any(String));
  });

  it('refreshes without a refresh_token in the answer, counts refreshes, and answers invalid_grant after revokeUser', async () => {
    const { refresh_token } = await signIn('refresh@example.com');
    const res = await refresh(refresh_token);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ access_token: expect.any(String), expires_in: 3600, token_type: 'Bearer', id_token: expect.any(String) });
    expect(body).not.toHaveProperty('refresh_token');
    expect(google.refreshCount('refresh@example.com')).toBe(1);
    const before = google.refreshCount();
    google.revokeUser('refresh@example.com');
    const dead = await refresh(refresh_token);
    expect(dead.status).toBe(400);
    expect(await dead.json()).toEqual({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
    expect((await api('gmail/v1/users/me/messages', body.access_token)).status).toBe(401);
    expect((await refresh('1//unknown')).status).toBe(400);
    expect(google.refreshCount()).toBe(before);
  });

  it('kills refresh tokens silently on request: refresh is invalid_grant, the consent is remembered, prompt=consent brings a new one', async () => {
    const { access_token, refresh_token } = await signIn('killed@example.com');
    const other = (await signIn('alive@example.com')).refresh_token as string;
    google.killRefreshTokens('killed@example.com');
    const dead = await refresh(refresh_token);
    expect([dead.status, await dead.json()]).toEqual([400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }]);
    expect((await api('gmail/v1/users/me/messages', access_token)).status).toBe(200); // lives until it expires
    expect((await signIn('killed@example.com')).refresh_token).toBeUndefined(); // Google still knows the user
    const renewed = (await signIn('killed@example.com', { prompt: 'consent' })).refresh_token as string;
    expect((await refresh(renewed)).status).toBe(200);
    expect((await refresh(other)).status).toBe(200); // another user is untouched
    const ctl = await fetch(`${google.baseUrl}/__emulator/kill-refresh-tokens?email=killed@example.com`, { method: 'POST' });
    expect([ctl.status, await ctl.json()]).toEqual([200, { email: 'killed@example.com', killed: 1 }]);
    expect((await refresh(renewed)).status).toBe(400);
  });

  describe('with refresh token rotation', () => {
    beforeEach(() => google.rotateRefreshTokens(true));
    afterEach(() => google.rotateRefreshTokens(false));

    it('answers each refresh with a new refresh token and refuses the used one with invalid_grant', async () => {
      const first = (await signIn('rotate@example.com')).refresh_token as string;
      const res = await refresh(first);
      const body = (await res.json()) as Json;
      expect(res.status).toBe(200);
      expect(body).toMatchObject({ access_token: expect.any(String), refresh_token: expect.stringMatching(/^1\/\/0g/) });
      expect(body.refresh_token).not.toBe(first);
      expect(google.refreshTokenWorks(first)).toBe(false);
      expect(google.refreshTokenWorks(body.refresh_token)).toBe(true);
      const reused = await refresh(first);
      expect(reused.status).toBe(400);
      expect(await reused.json()).toEqual({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      // The successor works, and rotates in turn; the access token issued before the rotation still works.
      const next = (await (await refresh(body.refresh_token)).json()) as Json;
      expect(next.refresh_token).not.toBe(body.refresh_token);
      expect((await api('gmail/v1/users/me/messages', body.access_token)).status).toBe(200);
    });

    it('replaces the refresh token on a re-grant with consent: the older one is refused from then on', async () => {
      const old = (await signIn('regrant@example.com')).refresh_token as string;
      const renewed = (await signIn('regrant@example.com', { prompt: 'consent' })).refresh_token as string;
      expect(renewed).not.toBe(old);
      expect((await refresh(old)).status).toBe(400);
      expect((await refresh(renewed)).status).toBe(200);
      // A sign-in that brings no refresh token (no consent forced) leaves the stored one alone.
      const quiet = await signIn('regrant@example.com');
      expect(quiet.refresh_token).toBeUndefined();
    });

    it('is switched over HTTP, and off again refreshes keep the refresh token', async () => {
      const rt = (await signIn('rotate-http@example.com')).refresh_token as string;
      const off = await fetch(`${google.baseUrl}/__emulator/rotation?on=false`, { method: 'POST' });
      expect([off.status, await off.json()]).toEqual([200, { rotation: false }]);
      expect(await (await refresh(rt)).json()).not.toHaveProperty('refresh_token');
      expect((await refresh(rt)).status).toBe(200);
      expect((await fetch(`${google.baseUrl}/__emulator/rotation?on=maybe`, { method: 'POST' })).status).toBe(400);
      const on = await fetch(`${google.baseUrl}/__emulator/rotation?on=true`, { method: 'POST' });
      expect(await on.json()).toEqual({ rotation: true });
      expect(await (await refresh(rt)).json()).toHaveProperty('refresh_token');
      expect((await refresh(rt)).status).toBe(400);
    });
  });

  it('holds a call on request until released, then answers it with the state Google has at that moment', async () => {
    const { refresh_token } = await signIn('held@example.com');
    const hold = google.holdNext('refresh');
    let answered = false;
    const pending = refresh(refresh_token).then((r) => ((answered = true), r));
    await hold.arrived;
    expect((await refresh(refresh_token)).status).toBe(200); // the next call is not held
    expect(answered).toBe(false);
    google.revokeUser('held@example.com');
    hold.release();
    expect((await pending).status).toBe(400); // processed after release: the grant is gone by then
  });

  it('holds Workspace API calls too, one hold per call, in the order they arrive', async () => {
    const { access_token } = await signIn('held-api@example.com');
    const holds = [google.holdNext('api'), google.holdNext('api')];
    const answered: number[] = [];
    const pending = [0, 1].map((i) => api('gmail/v1/users/me/labels', access_token).then((r) => (answered.push(i), r.status)));
    await Promise.all(holds.map((h) => h.arrived));
    expect((await api('gmail/v1/users/me/labels', access_token)).status).toBe(200); // a third call is not held
    expect(answered).toEqual([]);
    holds.forEach((h) => h.release());
    expect(await Promise.all(pending)).toEqual([200, 200]);
  });

  it('rejects expired access tokens at the APIs and userinfo, Google-style, while a refreshed one works', async () => {
    const { access_token, refresh_token } = await signIn('expire@example.com');
    expect((await api('gmail/v1/users/me/messages', access_token)).status).toBe(200);
    google.expireAccessTokens('expire@example.com');
    const rejected = await api('gmail/v1/users/me/messages', access_token);
    expect(rejected.status).toBe(401);
    expect(await rejected.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED', message: expect.stringContaining('invalid authentication credentials') } });
    expect((await get(google.urls.userinfo, access_token)).status).toBe(401);
    const fresh = (await (await refresh(refresh_token)).json()) as Json;
    expect((await api('gmail/v1/users/me/messages', fresh.access_token)).status).toBe(200);
    expect(google.apiCalls.filter((c) => c.email === 'expire@example.com').map((c) => c.status)).toEqual([200, 401, 200]);
  });

  it('answers each user with their own Gmail, Drive and Calendar data, paginated with user-bound page tokens', async () => {
    const a = await signIn('data-a@example.com', { scope: ALL });
    const b = await signIn('data-b@example.com', { scope: ALL });
    const ids = async (path: string, t: string, list: string) => {
      const body = (await (await api(path, t)).json()) as Json;
      return { ids: (body[list] as Json[]).map((x) => x.id as string), next: body.nextPageToken as string | undefined, body };
    };
    for (const [kind, path, list] of [
      ['gmail', 'gmail/v1/users/me/messages?maxResults=2', 'messages'],
      ['drive', 'drive/v3/files?pageSize=2', 'files'],
      ['calendar', 'calendar/v3/calendars/primary/events?maxResults=2', 'items'],
    ] as const) {
      const pages = [await ids(path, a.access_token, list)];
      while (pages.at(-1)?.next) pages.push(await ids(`${path}&pageToken=${pages.at(-1)?.next}`, a.access_token, list));
      expect(pages.map((p) => p.ids.length)).toEqual([2, 2, 1]);
      expect(pages.flatMap((p) => p.ids)).toEqual(google.itemIds(kind, 'data-a@example.com'));
      // Another user cannot use a's page token.
      expect((await api(`${path}&pageToken=${pages[0].next}`, b.access_token)).status).toBe(400);
    }
    expect((await ids('gmail/v1/users/me/messages', b.access_token, 'messages')).ids).toEqual(google.messageIds('data-b@example.com'));
    expect(google.messageIds('data-a@example.com')).not.toEqual(google.messageIds('data-b@example.com'));
    const files = await ids('drive/v3/files', a.access_token, 'files');
    expect(files.body).toMatchObject({ kind: 'drive#fileList', files: expect.arrayContaining([expect.objectContaining({ name: 'data-a@example.com file 0', mimeType: expect.any(String) })]) });
    expect(google.apiCalls.at(-1)).toMatchObject({ email: 'data-a@example.com', api: 'drive', path: '/drive/v3/files', status: 200 });
  });

  it('keeps Google\'s access rules at the APIs: own mailbox and calendar, granted scopes, a valid time window', async () => {
    const { access_token } = await signIn('rules@example.com', { scope: `openid email ${GMAIL} https://www.googleapis.com/auth/calendar.readonly` });
    const status = async (path: string) => (await api(path, access_token)).status;
    expect(await status('gmail/v1/users/rules%40example.com/messages')).toBe(200);
    expect(await status('gmail/v1/users/other%40example.com/messages')).toBe(403);
    expect(await status('calendar/v3/calendars/other%40example.com/events')).toBe(404);
    expect(await status('drive/v3/files')).toBe(403); // no Drive scope granted
    expect(await status('calendar/v3/calendars/primary/events?timeMin=yesterday')).toBe(400);
    expect(await status('gmail/v1/users/me/messages?maxResults=0')).toBe(400);
    expect(await status('gmail/v1/users/me/no-such-collection')).toBe(404);
    const day = 86_400_000;
    const window = `timeMin=${new Date(Date.now() + day).toISOString()}&timeMax=${new Date(Date.now() + 3 * day).toISOString()}`;
    const events = (await (await api(`calendar/v3/calendars/primary/events?${window}`, access_token)).json()) as Json;
    expect(events.items.length).toBeGreaterThanOrEqual(1);
    expect(events.items.length).toBeLessThanOrEqual(3);
    expect(google.apiCalls.at(-1)?.query).toBe(window);
    expect((await fetch(`${google.urls.apiRoot}drive/v3/files`)).status).toBe(401); // no bearer at all
  });

  it('revokes at /revoke: a refresh or live access token ends the grant; expired and unknown tokens are invalid_token', async () => {
    const revoke = (t: string) => form(google.urls.revoke, { token: t });
    const one = await signIn('rev@example.com');
    expect((await revoke(one.refresh_token)).status).toBe(200);
    expect((await refresh(one.refresh_token)).status).toBe(400);
    expect((await get(google.urls.userinfo, one.access_token)).status).toBe(401); // its access tokens went too
    const two = await signIn('rev@example.com'); // grant forgotten: a new refresh token
    expect((await fetch(`${google.urls.revoke}?token=${encodeURIComponent(two.access_token)}`, { method: 'POST' })).status).toBe(200);
    expect((await refresh(two.refresh_token)).status).toBe(400); // revoking the access token revoked its refresh token
    const three = await signIn('rev@example.com');
    google.expireAccessTokens('rev@example.com');
    const expired = await revoke(three.access_token);
    expect([expired.status, await expired.json()]).toEqual([400, { error: 'invalid_token', error_description: 'Token expired or revoked' }]);
    expect((await revoke('unknown')).status).toBe(400);
    expect(google.revocations.slice(-4)).toEqual([one.refresh_token, two.access_token, three.access_token, 'unknown']);
  });

  it('fails the next call of an endpoint on request, once per request, in the endpoint\'s own error shape', async () => {
    const { access_token, refresh_token } = await signIn('fail@example.com');
    google.failNext('refresh', 'server_error');
    google.failNext('refresh', 'invalid_grant');
    expect((await refresh(refresh_token)).status).toBe(503);
    expect(await (await refresh(refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
    expect((await refresh(refresh_token)).status).toBe(200);
    google.failNext('token', 'server_error');
    const c = await codeFor('fail@example.com');
    expect((await token({ grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT })).status).toBe(503);
    google.failNext('userinfo', 'server_error');
    expect((await get(google.urls.userinfo, access_token)).status).toBe(503);
    google.failNext('api', 'invalid_grant');
    google.failNext('api', 'server_error');
    const gmail = async () => (await api('gmail/v1/users/me/messages', access_token)).status;
    expect([await gmail(), await gmail(), await gmail()]).toEqual([401, 503, 200]);
    google.failNext('revoke', 'server_error');
    expect((await form(google.urls.revoke, { token: refresh_token })).status).toBe(503);
    expect(google.revocations.at(-1)).toBe(refresh_token); // recorded although it failed
    expect((await refresh(refresh_token)).status).toBe(200); // nothing was revoked
    expect(() => google.failNext('api', 'explode' as never)).toThrow('unknown failure');
  });

  it('leaves a timed-out call unanswered until the client gives up, and releases hanging calls on stop', async () => {
    const { refresh_token } = await signIn('hang@example.com');
    google.failNext('refresh', 'timeout');
    const started = Date.now();
    const body = new URLSearchParams({ client_id: google.clientId, client_secret: google.clientSecret, grant_type: 'refresh_token', refresh_token });
    await expect(fetch(google.urls.token, { method: 'POST', body, signal: AbortSignal.timeout(300) })).rejects.toThrow(/timeout|aborted/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await refresh(refresh_token)).status).toBe(200);

    const other = await startGoogleEmulator();
    other.failNext('api', 'timeout');
    const hung = fetch(`${other.urls.apiRoot}drive/v3/files`).then(() => 'answered', () => 'connection closed');
    while (other.apiCalls.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(other.apiCalls[0]).toMatchObject({ api: 'drive', status: 0 });
    await other.stop();
    expect(await hung).toBe('connection closed');
  });

  it('offers the controls over HTTP', async () => {
    const { access_token, refresh_token } = await signIn('ctl@example.com');
    const ctl = async (path: string, method = 'POST') => {
      const res = await fetch(`${google.baseUrl}/__emulator/${path}`, { method });
      return [res.status, (await res.json()) as Json] as const;
    };
    expect(await ctl('expire?email=ctl@example.com')).toEqual([200, { email: 'ctl@example.com', expired: 1 }]);
    expect((await get(google.urls.userinfo, access_token)).status).toBe(401);
    await refresh(refresh_token);
    expect(await ctl('refresh-count?email=ctl@example.com', 'GET')).toEqual([200, { email: 'ctl@example.com', count: 1 }]);
    expect((await ctl('fail-next?endpoint=refresh&failure=server_error'))[0]).toBe(200);
    expect((await refresh(refresh_token)).status).toBe(503);
    expect((await ctl('fail-next?endpoint=refresh&failure=explode'))[0]).toBe(400);
    expect((await ctl('expire'))[0]).toBe(400); // which user?
    expect((await ctl('expire?email=ctl@example.com', 'GET'))[0]).toBe(405);
    expect((await ctl('revoke-user?email=ctl@example.com'))[0]).toBe(200);
    expect((await refresh(refresh_token)).status).toBe(400);
    expect((await ctl('omit-refresh-token'))[0]).toBe(200);
    expect((await signIn('ctl-omit@example.com')).refresh_token).toBeUndefined();
    const [, log] = await ctl('log', 'GET');
    expect(log).toMatchObject({ revocations: expect.any(Array), apiCalls: expect.any(Array), refreshCount: expect.any(Number) });
  });
});
