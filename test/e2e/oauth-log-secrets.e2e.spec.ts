import { createHash, randomBytes } from 'node:crypto';
import { JWT_SECRET, readObject, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { authorizeInBrowser, authorizeUrl } from '../support/oauth-consent.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const REGISTRATION_TOKEN = 'initial-access-token-of-the-operators-0123456789';

/**
 * Every secret of the OAuth flows, on its good path and on its refusals, stays out of the log, at the most verbose
 * level: the captured lines (request lines, audit events, warnings) are searched for each value the flows handled.
 */
describe('OAuth secrets never reach the log', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService({ LOG_LEVEL: 'debug', OAUTH_REGISTRATION_TOKEN: REGISTRATION_TOKEN, OAUTH_REFRESH_REUSE_GRACE_SECONDS: '0' }));
  });
  afterAll(() => stopAll(world, sut));

  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}, query = '') =>
    fetch(`${sut.url}${path}${query}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });

  it('registration, authorization, code exchange, refresh, introspection, revocation and their refusals', async () => {
    const email = 'secretive@example.com';
    const registered = await fetch(`${sut.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}` },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic', client_name: 'Log scan' }),
    });
    expect(registered.status).toBe(201);
    const client = (await registered.json()) as { client_id: string; client_secret: string };
    const basic = { authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` };
    expect((await fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}x` }, body: '{}' })).status).toBe(401);

    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const params = { client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', state };
    const { location } = await authorizeInBrowser(world, authorizeUrl(sut.url, params), email);
    const code = location?.searchParams.get('code') as string;
    expect(code).toEqual(expect.any(String));

    const exchange = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT };
    expect((await post('/oauth/token', { ...exchange, code_verifier: randomBytes(32).toString('base64url') }, { authorization: `Basic ${Buffer.from(`${client.client_id}:wrong-secret`).toString('base64')}` })).status).toBe(401);
    const first = await post('/oauth/token', exchange, basic);
    expect(first.status).toBe(200);
    const tokens = (await first.json()) as { access_token: string; refresh_token: string };
    // Secrets where they do not belong (the query string) are not logged either.
    const second = await post('/oauth/token', {}, basic, `?${new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_secret: client.client_secret })}`);
    expect(second.status).toBe(400);
    const refreshed = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic);
    expect(refreshed.status).toBe(200);
    const latest = (await refreshed.json()) as { access_token: string; refresh_token: string };
    for (const token of [latest.access_token, latest.refresh_token]) {
      expect(await (await post('/oauth/introspect', { token }, basic)).json()).toMatchObject({ active: true });
    }
    // A replayed code and a reused refresh token are security events: logged, without the values.
    const last = ['reused-refresh-token', 'replayed-code', 'revoked-refresh-token'];
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { ...basic, 'x-request-id': last[0] })).status).toBe(400);
    expect((await post('/oauth/token', exchange, { ...basic, 'x-request-id': last[1] })).status).toBe(400);
    expect((await post('/oauth/revoke', { token: latest.refresh_token }, { ...basic, 'x-request-id': last[2] })).status).toBe(200);

    // Google's own tokens for the user, as the service stored them.
    const google = (await readObject(world, `credentials/${email}.json`)).json as { token: string; refresh_token: string };
    const secrets: Record<string, string> = {
      'client secret': client.client_secret,
      'registration token': REGISTRATION_TOKEN,
      'authorization code': code,
      'PKCE verifier': verifier,
      state,
      'first access token': tokens.access_token,
      'first refresh token': tokens.refresh_token,
      'refreshed access token': latest.access_token,
      'refreshed refresh token': latest.refresh_token,
      'Google access token': google.token,
      'Google refresh token': google.refresh_token,
      'Google client secret': world.google.clientSecret,
      'JWT secret': JWT_SECRET,
    };
    // Scanned once the request lines of the last answers are written, not 50 ms after them: a line written later than
    // that would be missed, and the scan pass without having seen it.
    const logged = () => world.logs.lines.map((l) => l.message as { msg?: string; reqId?: string }).filter((m) => m?.msg === 'request').map((m) => m.reqId);
    for (const deadline = Date.now() + 2000; !last.every((id) => logged().includes(id)); await new Promise((r) => setTimeout(r, 5))) {
      if (Date.now() > deadline) throw new Error(`the request lines of ${last.filter((id) => !logged().includes(id)).join(', ')} were not written within 2 s`);
    }
    const log = world.logs.text;
    expect(world.logs.lines.filter((l) => (l.message as { msg?: string })?.msg === 'request').length).toBeGreaterThan(10);
    // The scan saw the lines that name these events: the replay and the reuse were logged (as security violations).
    expect(world.logs.events('SECURITY VIOLATION').map((e) => e.reason)).toEqual(['refresh_token_reuse', 'authorization_code_reuse']);
    const found = Object.entries(secrets).filter(([, value]) => log.includes(value) || log.includes(encodeURIComponent(value)));
    expect(found.map(([what]) => what)).toEqual([]);
  });
});
