import { SignJWT } from 'jose';
import { JWT_SECRET, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { claimsOf } from '../support/oauth-tokens.js';
import { authorizeInBrowser, authorizeUrl, pkceRequest as request, refreshGrant, registerPublicClient as register, tokensThroughOAuth } from '../support/oauth-consent.js';
import { getWithBearer } from '../support/harness.js';

const LOOPBACK = 'http://127.0.0.1:8765/callback';

/** Parameters that are present but not one usable value are refused, never read as something else. */
describe('OAuth request hygiene', () => {
  let world: World;
  let sut: Service;
  let client: string;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
    client = await register(sut, { client_name: 'Hygiene', redirect_uris: [LOOPBACK] });
  });
  afterAll(async () => {
    await stopAll(world, sut);
  });

  it('a redirect_uri sent twice is refused on our page (RFC 6749 3.1), not taken as left out', async () => {
    const { params } = await request(client, LOOPBACK);
    const url = `${authorizeUrl(sut.url, params)}&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/other')}`;
    const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.json()).toMatchObject({ error: 'invalid_request', message: expect.stringContaining('redirect_uri must be sent once') });
  });

  it.each([
    ['client_id', 'invalid_request', 'client_id'],
    ['state', 'invalid_request', 'state must be sent once'],
    ['scope', 'invalid_scope', 'scope must be one'],
    ['resource', 'invalid_target', 'resource must be'],
    ['code_challenge', 'invalid_request', 'PKCE is required'],
    ['code_challenge_method', 'invalid_request', 'must be S256'],
    ['response_type', 'unsupported_response_type', 'response_type=code'],
  ])('%s sent twice at /oauth/authorize: %s on our page, never redirected, never taken as one of the two', async (name, error, says) => {
    const { params } = await request(client, LOOPBACK, { scope: 'https://www.googleapis.com/auth/gmail.readonly', resource: `${sut.url}/mcp` });
    const url = new URL(authorizeUrl(sut.url, params));
    url.searchParams.append(name, url.searchParams.get(name) as string); // the same value again: still not one value
    const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.json()).toMatchObject({ error, message: expect.stringContaining(says) });
  });

  it('parameters sent without a value count as left out (RFC 6749 3.1 and 3.2): state=, resource=, scope= and prompt= at /oauth/authorize, resource= and client_secret= at the token endpoint', async () => {
    const { params, verifier } = await request(client, LOOPBACK, { state: '', resource: '', scope: '', prompt: '' });
    const url = authorizeUrl(sut.url, params);
    expect(url).toContain('&state=&'); // sent, without a value
    const { location } = await authorizeInBrowser(world, url, 'empty-params@example.com');
    expect(location?.origin + (location?.pathname ?? '')).toBe(LOOPBACK);
    const code = location?.searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    expect(location?.searchParams.has('state')).toBe(false); // no state was sent, so none comes back
    const res = await token({ grant_type: 'authorization_code', client_id: client, client_secret: '', code: code as string, code_verifier: verifier, redirect_uri: LOOPBACK, resource: '' });
    expect(res.status).toBe(200);
    const issued = (await res.json()) as { access_token: string };
    expect(claimsOf(issued.access_token).client_id).toBe(client);
    expect((await getWithBearer(sut, '/auth/session', issued.access_token)).status).toBe(200); // the default audience
  });

  const token = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${sut.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });

  /** A fresh code for `clientId` (consent allowed, signed in as `email`) and its verifier. */
  async function codeFor(clientId: string, email: string): Promise<{ code: string; verifier: string }> {
    const { params, verifier } = await request(clientId, LOOPBACK);
    const { location } = await authorizeInBrowser(world, authorizeUrl(sut.url, params), email);
    return { code: location?.searchParams.get('code') as string, verifier };
  }

  it('a code_verifier outside RFC 7636 (43 to 128 unreserved characters) is invalid_request, and does not spend the code', async () => {
    const { code, verifier } = await codeFor(client, 'verifier@example.com');
    for (const bad of ['short', 'x'.repeat(42), `${'x'.repeat(42)} `, `${'x'.repeat(43)}/`, 'x'.repeat(129)]) {
      const res = await token({ grant_type: 'authorization_code', client_id: client, code, code_verifier: bad, redirect_uri: LOOPBACK });
      expect([bad, res.status]).toEqual([bad, 400]);
      expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('RFC 7636') });
    }
    const ok = await token({ grant_type: 'authorization_code', client_id: client, code, code_verifier: verifier, redirect_uri: LOOPBACK });
    expect(ok.status).toBe(200);
  });

  it('code or code_verifier sent twice at the token endpoint is invalid_request, and does not spend the code', async () => {
    const { code, verifier } = await codeFor(client, 'twice@example.com');
    const form = new URLSearchParams({ grant_type: 'authorization_code', client_id: client, code, code_verifier: verifier, redirect_uri: LOOPBACK });
    for (const name of ['code', 'code_verifier']) {
      const twice = new URLSearchParams(form);
      twice.append(name, form.get(name) as string);
      const res = await fetch(`${sut.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: twice });
      expect([name, res.status, ((await res.json()) as { error: string }).error]).toEqual([name, 400, 'invalid_request']);
    }
    const ok = await fetch(`${sut.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    expect(ok.status).toBe(200);
  });

  it('HTTP Basic together with credentials in the body, or a Basic header without a colon, is refused (RFC 6749 2.3)', async () => {
    const reg = await fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [LOOPBACK] }) });
    const conf = (await reg.json()) as { client_id: string; client_secret: string };
    const basic = { authorization: `Basic ${Buffer.from(`${conf.client_id}:${conf.client_secret}`).toString('base64')}` };
    const { code, verifier } = await codeFor(conf.client_id, 'basic@example.com');
    const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: LOOPBACK };
    for (const extra of [{ client_secret: conf.client_secret }, { client_id: client }] as Array<Record<string, string>>) {
      const res = await token({ ...form, ...extra }, basic);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('Authenticate once') });
    }
    const noColon = await token(form, { authorization: `Basic ${Buffer.from(conf.client_id).toString('base64')}` });
    expect(noColon.status).toBe(401);
    expect(await noColon.json()).toMatchObject({ error: 'invalid_client', error_description: expect.stringContaining('client_id:client_secret') });
    // The same id in the body next to Basic (as some libraries send it) is fine.
    const ok = await token({ ...form, client_id: conf.client_id }, basic);
    expect(ok.status).toBe(200);
  });

  it('another client cannot revoke or refresh a client\'s tokens: revocation is 200 and changes nothing (RFC 7009 2.1), refresh is invalid_grant', async () => {
    const victim = await tokensThroughOAuth(world, sut.url, 'owner@example.com');
    const other = await register(sut, { client_name: 'Other', redirect_uris: [LOOPBACK] });
    for (const t of [victim.access_token, victim.refresh_token as string]) {
      const res = await fetch(`${sut.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t, client_id: other }) });
      expect(res.status).toBe(200);
    }
    expect((await refreshGrant(sut.url, other, victim.refresh_token as string)).body.error).toBe('invalid_grant');
    expect((await getWithBearer(sut, '/auth/session', victim.access_token)).status).toBe(200);
    const refreshed = await refreshGrant(sut.url, victim.clientId, victim.refresh_token as string);
    expect(refreshed.status).toBe(200); // neither the revocations nor the foreign refresh touched the family
  });

  it('an expired access token of a public client ends nothing at /oauth/revoke (its client_id is printed in it); a live one still ends its session', async () => {
    // Bearers live an hour and sessions far longer, so old tokens turn up in logs. A public client proves nothing by
    // naming its id, so a dead token of its (the same claims, re-signed an hour older) must not end its grant.
    const victim = await tokensThroughOAuth(world, sut.url, 'old-token@example.com');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claimsOf(victim.access_token), iat: now - 3600, exp: now - 60 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JWT_SECRET));
    const revoke = (t: string) => fetch(`${sut.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t, client_id: victim.clientId }) });
    expect((await revoke(expired)).status).toBe(200); // RFC 7009 2.2: an invalid token is no error
    expect((await getWithBearer(sut, '/auth/session', victim.access_token)).status).toBe(200);
    const refreshed = await refreshGrant(sut.url, victim.clientId, victim.refresh_token as string);
    expect(refreshed.status).toBe(200);
    const live = refreshed.body.access_token as string;
    expect((await revoke(live)).status).toBe(200);
    expect((await getWithBearer(sut, '/auth/session', live)).status).toBe(401);
  });

  it('a body the framework cannot read at an OAuth endpoint still gets an OAuth error (invalid_request, or invalid_client_metadata at registration), not the service shape alone', async () => {
    const tooBig = 'x'.repeat(64 * 1024);
    const cases: Array<[string, RequestInit, number]> = [
      ['/oauth/token', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'grant_type=refresh_token' }, 415],
      ['/oauth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' }, 400],
      ['/oauth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"redirect_uris":' }, 400],
      ['/oauth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: tooBig }) }, 413],
      ['/oauth/revoke', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[' }, 400],
      ['/oauth/introspect', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }, 400],
    ];
    for (const [path, init, status] of cases) {
      const res = await fetch(`${sut.url}${path}`, init);
      const body = (await res.json()) as Record<string, unknown>;
      expect({ path, status: res.status }).toEqual({ path, status });
      // RFC 6749 5.2's shape, which OAuth clients read; the service's own fields stay for everyone else.
      const code = path === '/oauth/register' ? 'invalid_client_metadata' : 'invalid_request'; // RFC 7591 3.2.2 for registration
      expect([path, body]).toEqual([path, expect.objectContaining({ statusCode: status, error: code, error_description: expect.any(String), reason: expect.any(String) })]);
      expect(body.error_description).toBe(body.message);
    }
  });
});
