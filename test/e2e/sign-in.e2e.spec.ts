import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { Browser } from '../support/http-client.js';
import {
  completeSignIn,
  getWithBearer,
  objectExists,
  JWT_SECRET,
  readObject,
  Service,
  signIn,
  startService,
  startSignIn,
  startWorldWithService,
  stopAll,
  World,
} from '../support/harness.js';

describe('Scenario 1: sign-in', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  it('redirects to Google with state, PKCE S256, offline access and the contract parameters', async () => {
    const location = new URL(await startSignIn(sut, new Browser(), 'Newcomer@Example.com'));
    const p = location.searchParams;
    expect(`${location.origin}${location.pathname}`).toBe(world.google.urls.auth);
    expect(p.get('response_type')).toBe('code');
    expect(p.get('client_id')).toBe(world.google.clientId);
    expect(p.get('redirect_uri')).toBe(`${sut.url}/auth/google/callback`);
    expect(p.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'email', 'profile', 'https://www.googleapis.com/auth/gmail.readonly']));
    expect(p.get('access_type')).toBe('offline');
    expect(p.get('include_granted_scopes')).toBe('true');
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('login_hint')).toBe('newcomer@example.com');
    // Consent is never decided from login_hint (sign-in-privacy.e2e.spec.ts); Google gives a new user a refresh
    // token anyway, and the callback restarts with consent when it did not.
    expect(p.has('prompt')).toBe(false);
  });

  it('stores the credentials encrypted in S3, creates the session, and returns a working bearer', async () => {
    const result = await signIn(sut, world, 'Alice@Example.com');
    expect(result).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      email: 'alice@example.com',
      session_id: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });

    const creds = await readObject(world, 'credentials/alice@example.com.json');
    expect(creds.head.ServerSideEncryption).toBe(world.s3.sse);
    expect(creds.head.ContentType).toBe('application/json');
    expect(creds.json).toMatchObject({
      version: 1,
      email: 'alice@example.com',
      token: expect.any(String),
      refresh_token: expect.any(String),
      token_uri: world.google.urls.token,
      client_id: world.google.clientId,
      scopes: expect.arrayContaining(['https://www.googleapis.com/auth/drive.readonly']),
      expiry: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updated_at: expect.any(String),
    });
    expect(creds.json).not.toHaveProperty('client_secret');

    const session = await readObject(world, `sessions/${result.session_id}.json`);
    expect(session.head.ServerSideEncryption).toBe(world.s3.sse);
    expect(session.json).toMatchObject({ version: 1, session_id: result.session_id, email: 'alice@example.com' });

    const me = await getWithBearer(sut, '/auth/session', result.access_token);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      email: 'alice@example.com',
      session_id: result.session_id,
      issued_at: expect.any(String),
      expires_at: expect.any(String),
      scopes: expect.arrayContaining(['openid']),
      google: { expires_at: expect.any(String), has_refresh_token: true },
    });
  });

  it('reaches Gmail, Drive and Calendar at Google with the user\'s own access token', async () => {
    const { access_token } = await signIn(sut, world, 'bob@example.com');
    const calls = world.google.apiCalls.length;
    for (const [path, list] of [
      ['/v1/users/me/gmail/messages?maxResults=2', 'messages'],
      ['/v1/users/me/drive/files?pageSize=2', 'files'],
      ['/v1/users/bob@example.com/calendar/events?calendarId=primary', 'events'],
    ] as const) {
      const res = await getWithBearer(sut, path, access_token);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Array.isArray(body[list])).toBe(true);
      expect((body[list] as unknown[]).length).toBeGreaterThan(0);
      expect(body).toHaveProperty('nextPageToken');
    }
    const made = world.google.apiCalls.slice(calls);
    expect(made.map((c) => c.api)).toEqual(['gmail', 'drive', 'calendar']);
    expect(made.every((c) => c.email === 'bob@example.com')).toBe(true);
  });

  it('does not force consent for a user whose refresh token is stored', async () => {
    await signIn(sut, world, 'carol@example.com');
    const location = new URL(await startSignIn(sut, new Browser(), 'carol@example.com'));
    expect(location.searchParams.has('prompt')).toBe(false);
  });

  it('restarts once with prompt=consent when Google sends no refresh token and none is stored', async () => {
    const browser = new Browser();
    const first = new URL(await startSignIn(sut, browser)); // no login_hint: consent not forced
    expect(first.searchParams.has('prompt')).toBe(false);
    world.google.omitRefreshTokenOnNextCodeExchange();
    const callback = await browser.get(await world.google.approve(first.toString(), { email: 'dave@example.com' }));
    expect(callback.status).toBe(302);
    const restart = new URL(callback.headers.get('location') ?? '');
    expect(restart.searchParams.get('prompt')).toBe('consent');
    expect(restart.searchParams.get('login_hint')).toBe('dave@example.com');
    const done = await browser.get(await world.google.approve(restart.toString(), { email: 'dave@example.com' }));
    expect(done.status).toBe(200);
    const creds = await readObject(world, 'credentials/dave@example.com.json');
    expect(creds.json.refresh_token).toEqual(expect.any(String));
  });

  describe('bearer validation', () => {
    let token: string;
    let claims: Record<string, unknown>;
    const secret = new TextEncoder().encode(JWT_SECRET);
    const sign = (payload: Record<string, unknown>, alg = 'HS256', key: Uint8Array = secret) =>
      new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);

    beforeAll(async () => {
      token = (await signIn(sut, world, 'erin@example.com')).access_token;
      claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    });

    it('carries iss, aud, sub, email, sid, iat, exp and jti', () => {
      expect(claims).toMatchObject({
        iss: 'https://broker.test',
        aud: 'workspace-api',
        sub: 'erin@example.com',
        email: 'erin@example.com',
        sid: expect.any(String),
        iat: expect.any(Number),
        exp: expect.any(Number),
        jti: expect.any(String),
      });
    });

    it('accepts the genuine token', async () => {
      expect((await getWithBearer(sut, '/auth/session', token)).status).toBe(200);
    });

    const now = () => Math.floor(Date.now() / 1000);
    const cases: Array<[string, () => Promise<string> | string]> = [
      ['missing', () => ''],
      ['tampered payload', () => {
        const [h, , s] = token.split('.');
        const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'mallory@example.com', email: 'mallory@example.com' })).toString('base64url');
        return `${h}.${forged}.${s}`;
      }],
      ['tampered signature', () => `${token.slice(0, -4)}AAAA`],
      ['expired', () => sign({ ...claims, iat: now() - 7200, exp: now() - 3600 })],
      ['wrong issuer', () => sign({ ...claims, iss: 'https://evil.example.com' })],
      ['wrong audience', () => sign({ ...claims, aud: 'another-api' })],
      ['alg none', () => {
        const h = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
        return `${h}.${p}.`;
      }],
      ['HS512 with the right secret (algorithm not pinned)', () => sign(claims, 'HS512')],
      ['signed with another secret', () => sign(claims, 'HS256', new TextEncoder().encode('x'.repeat(40)))],
      ['unknown session', () => sign({ ...claims, sid: createHash('sha256').update('nope').digest('base64url'), jti: 'other' })],
      ['sub and email disagree', () => sign({ ...claims, email: 'other@example.com' })],
    ];
    it.each(cases)('rejects a %s token with 401 and guidance', async (_name, make) => {
      const forged = await make();
      const res = forged ? await getWithBearer(sut, '/v1/users/me/gmail/messages', forged) : await fetch(`${sut.url}/v1/users/me/gmail/messages`);
      expect(res.status).toBe(401);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toEqual({ statusCode: 401, error: expect.any(String), message: expect.stringContaining('/auth/google') });
    });
  });

  describe('state and code errors', () => {
    it('refuses a replayed callback with 400', async () => {
      const browser = new Browser();
      const location = await startSignIn(sut, browser, 'frank@example.com');
      const callbackUrl = await world.google.approve(location, { email: 'frank@example.com' });
      // The attacker kept a copy of the flow cookie and replays the same callback after it succeeded.
      const attacker = browser.clone();
      expect((await browser.get(callbackUrl)).status).toBe(200);
      const replay = await attacker.get(callbackUrl);
      expect(replay.status).toBe(400);
      expect(await replay.json()).toMatchObject({ statusCode: 400, error: 'state_replayed', message: expect.stringContaining('/auth/google') });
    });

    it('refuses a callback without state with 400', async () => {
      const res = await fetch(`${sut.url}/auth/google/callback?code=abc`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ statusCode: 400, message: expect.stringContaining('/auth/google') });
    });

    it('refuses a callback that lands in another browser with 400', async () => {
      const location = await startSignIn(sut, new Browser(), 'grace@example.com');
      const callbackUrl = await world.google.approve(location, { email: 'grace@example.com' });
      const res = await new Browser().get(callbackUrl);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'state_unknown', message: expect.stringContaining('same browser') });
    });

    it('answers 400 with guidance when Google refuses the code (invalid_grant: the caller\'s fault, not an outage)', async () => {
      const browser = new Browser();
      const location = await startSignIn(sut, browser, 'heidi@example.com');
      const callbackUrl = new URL(await world.google.approve(location, { email: 'heidi@example.com' }));
      callbackUrl.searchParams.set('code', 'not-a-code-google-issued');
      const res = await browser.get(callbackUrl.toString());
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ statusCode: 400, error: 'invalid_grant', message: expect.stringContaining('start again at /auth/google') });
    });

    it('answers 502 when Google is unreachable during the code exchange', async () => {
      const browser = new Browser();
      const location = await startSignIn(sut, browser, 'ivan@example.com');
      const callbackUrl = await world.google.approve(location, { email: 'ivan@example.com' });
      world.google.failNext('token', 'server_error');
      const res = await browser.get(callbackUrl);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ statusCode: 502, message: expect.stringContaining('/auth/google') });
    });

    it('answers 401 when the person denies access at Google', async () => {
      const res = await completeSignIn(sut, world, 'judy@example.com', new Browser(), { deny: true });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ statusCode: 401, error: 'access_denied' });
    });

    it('answers 403 for an unverified Google email and stores nothing', async () => {
      const res = await completeSignIn(sut, world, 'mallory@example.com', new Browser(), { emailVerified: false });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ statusCode: 403, error: 'email_unverified' });
    });

    it('answers 403 email_unusable for a verified Google email the service cannot use as a key, and stores nothing', async () => {
      for (const email of ['a/b@example.com', '../sessions/x@example.com']) {
        // No login_hint (the service refuses such a hint itself): the person types the address at Google.
        const browser = new Browser();
        const res = await browser.get(await world.google.approve(await startSignIn(sut, browser), { email }));
        expect({ email, status: res.status }).toEqual({ email, status: 403 });
        expect(await res.json()).toMatchObject({ statusCode: 403, error: 'email_unusable', message: expect.stringContaining('another account') });
        expect(await objectExists(world, `credentials/${email}.json`)).toBe(false);
      }
    });

    it('a browser sent to /auth/google again and again holds at most 5 flow cookies, and its latest sign-ins still complete', async () => {
      const browser = new Browser();
      const locations: string[] = [];
      for (let i = 0; i < 12; i++) locations.push(await startSignIn(sut, browser));
      expect(browser.cookieNames().filter((n) => n.startsWith('wsb_flow_'))).toHaveLength(5);
      // The oldest flow's cookie was expired: its callback is refused as a state this browser never started.
      const oldest = await browser.get(await world.google.approve(locations[0], { email: 'many-tabs@example.com' }));
      expect(oldest.status).toBe(400);
      expect(await oldest.json()).toMatchObject({ error: 'state_unknown' });
      for (const location of [locations[7], locations[11]]) {
        const res = await browser.get(await world.google.approve(location, { email: 'many-tabs@example.com' }));
        expect(res.status).toBe(200);
      }
    });

    it('an error on Google\'s consent page is named by its OAuth code only, never by free text from the URL', async () => {
      for (const [error, shown] of [['server_error', 'server_error'], ['Your account was suspended, call +1 555 0100', 'error']]) {
        const browser = new Browser();
        const state = new URL(await startSignIn(sut, browser)).searchParams.get('state') as string;
        const res = await browser.get(`${sut.url}/auth/google/callback?${new URLSearchParams({ error, state })}`);
        expect({ error, status: res.status }).toEqual({ error, status: 400 });
        const body = (await res.json()) as { error: string; message: string };
        expect(body).toMatchObject({ error: 'authorization_error', message: expect.stringContaining(`(${shown})`) });
        expect(body.message).not.toContain('suspended');
      }
    });

    it('answers 400 for a malformed login_hint', async () => {
      for (const hint of ['../etc/passwd@example.com', 'a/b@example.com', 'x\u0001@example.com', 'not-an-email']) {
        const res = await fetch(`${sut.url}/auth/google?login_hint=${encodeURIComponent(hint)}`, { redirect: 'manual' });
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ statusCode: 400, error: 'invalid_email' });
      }
    });
  });
});
