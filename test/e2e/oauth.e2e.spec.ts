import * as oauth from 'oauth4webapi';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Browser } from '../support/http-client.js';
import { authorizeInBrowser, authorizeUrl } from '../support/oauth-consent.js';
import { getWithBearer, Service, startService, startWorld, stopAll, World } from '../support/harness.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const insecure = { [oauth.allowInsecureRequests]: true };

describe('OAuth 2.1 authorization server, driven by oauth4webapi', () => {
  let world: World;
  let sut: Service;
  let as: oauth.AuthorizationServer;

  beforeAll(async () => {
    world = await startWorld();
    // The issuer is the public URL (the default), as RFC 8414 discovery expects.
    sut = await startService(world, { JWT_ISSUER: undefined });
    const issuer = new URL(sut.url);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  });
  afterAll(() => stopAll(world, sut));

  /** Registers a client with the library. */
  async function register(metadata: Record<string, unknown>): Promise<oauth.Client & { client_secret?: string }> {
    const res = await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: [REDIRECT], ...metadata }, insecure);
    return (await oauth.processDynamicClientRegistrationResponse(res)) as oauth.Client & { client_secret?: string };
  }

  /** Follows the authorization through our consent page (Allow) and the Google emulator like a browser; returns the callback URL. */
  async function authorize(params: Record<string, string>, email: string, browser = new Browser()): Promise<URL> {
    const { location, stoppedAt } = await authorizeInBrowser(world, authorizeUrl(sut.url, params), email, { browser });
    if (!location) throw new Error(`the authorization stopped at ${stoppedAt?.status}: ${await stoppedAt?.text()}`);
    return location;
  }

  async function pkce() {
    const verifier = oauth.generateRandomCodeVerifier();
    return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier) };
  }

  async function codeFor(client: oauth.Client, email: string, extra: Record<string, string> = {}, browser = new Browser()) {
    const { verifier, challenge } = await pkce();
    const state = oauth.generateRandomState();
    const callback = await authorize({ client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256', state, ...extra }, email, browser);
    return { params: oauth.validateAuthResponse(as, client, callback, state), verifier };
  }

  const exchange = (client: oauth.Client, auth: oauth.ClientAuth, params: URLSearchParams, verifier: string, redirect = REDIRECT) =>
    oauth.authorizationCodeGrantRequest(as, client, auth, params, redirect, verifier, insecure);

  it('publishes RFC 8414 and RFC 9728 metadata, and a 401 points at the resource metadata', async () => {
    expect(as).toMatchObject({
      issuer: sut.url,
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      registration_endpoint: `${sut.url}/oauth/register`,
      revocation_endpoint: `${sut.url}/oauth/revoke`,
      introspection_endpoint: `${sut.url}/oauth/introspect`,
    });
    const prm = (await (await fetch(`${sut.url}/.well-known/oauth-protected-resource`)).json()) as Record<string, unknown>;
    expect(prm).toMatchObject({ resource: sut.url, authorization_servers: [sut.url] });
    const denied = await fetch(`${sut.url}/v1/users/me/gmail/messages`);
    expect(denied.status).toBe(401);
    // The route's own resource (RFC 9728 section 3.1); oauth-audience.e2e.spec.ts checks every resource.
    expect(denied.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer resource_metadata="${sut.url}/\\.well-known/oauth-protected-resource/v1/users/me/gmail", scope="[^"]+"$`));
    expect((await fetch(`${sut.url}/.well-known/jwks.json`)).status).toBe(404); // HS256 here: no public key
  });

  it('runs the whole flow for a public client: register, authorize with PKCE, exchange, call, refresh with rotation, revoke', async () => {
    const client = await register({ token_endpoint_auth_method: 'none', client_name: 'agent' });
    expect(client.client_secret).toBeUndefined();
    const { params, verifier } = await codeFor(client, 'oauth-user@example.com', { resource: `${sut.url}/v1` });
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, await exchange(client, oauth.None(), params, verifier));
    expect(tokens).toMatchObject({ token_type: 'bearer', access_token: expect.any(String), refresh_token: expect.any(String) });
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ aud: `${sut.url}/v1`, client_id: client.client_id, sub: 'oauth-user@example.com', iss: sut.url });

    const call = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${sut.url}/v1/users/me/gmail/messages`), undefined, undefined, insecure);
    expect(call.status).toBe(200);

    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token as string, insecure));
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await getWithBearer(sut, '/v1/users/me/drive/files', refreshed.access_token)).status).toBe(200);

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), refreshed.refresh_token as string, insecure));
    expect((await getWithBearer(sut, '/v1/users/me/drive/files', refreshed.access_token)).status).toBe(401);
    const afterRevoke = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token as string, insecure);
    expect(afterRevoke.status).toBe(400);
    expect(await afterRevoke.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('serves a confidential client with a secret, introspection, and access-token revocation', async () => {
    const client = await register({ token_endpoint_auth_method: 'client_secret_basic' });
    expect(client.client_secret).toEqual(expect.any(String));
    const auth = oauth.ClientSecretBasic(client.client_secret as string);
    const { params, verifier } = await codeFor(client, 'conf-user@example.com');
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, await exchange(client, auth, params, verifier));
    const active = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure));
    expect(active).toMatchObject({ active: true, client_id: client.client_id, sub: 'conf-user@example.com' });
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, tokens.access_token, insecure));
    const inactive = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure));
    expect(inactive.active).toBe(false);
    expect((await getWithBearer(sut, '/auth/session', tokens.access_token)).status).toBe(401);
  });

  describe('refusals', () => {
    let client: oauth.Client;
    beforeAll(async () => {
      client = await register({ token_endpoint_auth_method: 'none' });
    });

    const errorOf = (u: URL) => u.searchParams.get('error');

    it('refuses a request without PKCE, or with plain PKCE: on our page before the person approved the client, at the redirect URI after', async () => {
      const base = { client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', state: 's1' };
      const shown = await fetch(authorizeUrl(sut.url, base), { redirect: 'manual' });
      expect(shown.status).toBe(400);
      expect(await shown.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('PKCE') });
      // The person approves the client once in this browser; from then on errors go back to the client.
      const browser = new Browser();
      await codeFor(client, 'x@example.com', {}, browser);
      const missing = await authorize(base, 'x@example.com', browser);
      expect(missing.origin + missing.pathname).toBe(REDIRECT);
      expect(errorOf(missing)).toBe('invalid_request');
      expect(missing.searchParams.get('state')).toBe('s1');
      const plain = await authorize({ ...base, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, 'x@example.com', browser);
      expect(errorOf(plain)).toBe('invalid_request');
      const token = await authorize({ ...base, response_type: 'token', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' }, 'x@example.com', browser);
      expect(errorOf(token)).toBe('unsupported_response_type');
    });

    it('refuses a redirect URI with an extra path or query, or another host, without redirecting', async () => {
      const { challenge } = await pkce();
      for (const redirect of [`${REDIRECT}/extra`, `${REDIRECT}?x=1`, 'http://127.0.0.2:8765/callback', 'https://evil.example.com/callback']) {
        const url = new URL(as.authorization_endpoint as string);
        for (const [k, v] of Object.entries({ client_id: client.client_id, redirect_uri: redirect, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' })) url.searchParams.set(k, v);
        const res = await fetch(url, { redirect: 'manual' });
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('redirect_uri') });
      }
    });

    it('accepts another port for a loopback redirect URI (RFC 8252)', async () => {
      const { challenge } = await pkce();
      const callback = await authorize({ client_id: client.client_id, redirect_uri: 'http://127.0.0.1:9999/callback', response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' }, 'port@example.com');
      expect(callback.origin).toBe('http://127.0.0.1:9999');
      expect(callback.searchParams.get('code')).toEqual(expect.any(String));
    });

    it('lets the code exchange leave out redirect_uri only when the authorization request did (RFC 6749 4.1.3)', async () => {
      const token = (code: string, verifier: string, extra: Record<string, string> = {}) =>
        fetch(`${sut.url}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', client_id: client.client_id, code, code_verifier: verifier, ...extra }),
        });
      // The client registered one redirect URI, so the authorization request may leave it out, and then the exchange too.
      const implied = await pkce();
      const callback = await authorize({ client_id: client.client_id, response_type: 'code', code_challenge: implied.challenge, code_challenge_method: 'S256', state: 'i1' }, 'implied@example.com');
      expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT);
      const left = await token(callback.searchParams.get('code') as string, implied.verifier);
      expect(left.status).toBe(200);
      expect(await left.json()).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
      // Left out there, a redirect_uri sent here must still be the registered one.
      const other = await pkce();
      const second = await authorize({ client_id: client.client_id, response_type: 'code', code_challenge: other.challenge, code_challenge_method: 'S256', state: 'i2' }, 'implied@example.com');
      const wrong = await token(second.searchParams.get('code') as string, other.verifier, { redirect_uri: 'http://127.0.0.1:8766/elsewhere' });
      expect(wrong.status).toBe(400);
      expect(await wrong.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('redirect_uri') });
      // Named in the authorization request, it is required in the exchange.
      const { params, verifier } = await codeFor(client, 'named@example.com');
      const missing = await token(params.get('code') as string, verifier);
      expect(missing.status).toBe(400);
      expect(await missing.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('redirect_uri') });
    });

    it('refuses a wrong verifier', async () => {
      const { params } = await codeFor(client, 'v@example.com');
      const res = await exchange(client, oauth.None(), params, oauth.generateRandomCodeVerifier());
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('code_verifier') });
    });

    it('refuses a reused code and revokes the tokens issued from it', async () => {
      const { params, verifier } = await codeFor(client, 'reuse@example.com');
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, await exchange(client, oauth.None(), params, verifier));
      expect((await getWithBearer(sut, '/auth/session', tokens.access_token)).status).toBe(200);
      const again = await exchange(client, oauth.None(), params, verifier);
      expect(again.status).toBe(400);
      expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
      expect((await getWithBearer(sut, '/auth/session', tokens.access_token)).status).toBe(401);
      const refresh = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token as string, insecure);
      expect(refresh.status).toBe(400);
    });

    it('revokes the whole family when an old refresh token is reused (one that is no longer the just-rotated one)', async () => {
      const { params, verifier } = await codeFor(client, 'family@example.com');
      const first = await oauth.processAuthorizationCodeResponse(as, client, await exchange(client, oauth.None(), params, verifier));
      const second = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token as string, insecure));
      const third = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), second.refresh_token as string, insecure));
      const reuse = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token as string, insecure);
      expect(reuse.status).toBe(400);
      expect(await reuse.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('revoked') });
      const current = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), third.refresh_token as string, insecure);
      expect(current.status).toBe(400);
      expect((await getWithBearer(sut, '/auth/session', third.access_token)).status).toBe(401);
    });

    it('refuses an expired code', async () => {
      const { params, verifier } = await codeFor(client, 'late@example.com');
      // Age the stored grant by 61 s, as if the client came back too late.
      const key = `oauth/codes/${createHash('sha256').update(params.get('code') as string).digest('base64url')}.json`;
      const { GetObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
      const stored = JSON.parse((await (await world.admin.send(new GetObjectCommand({ Bucket: world.bucket, Key: key }))).Body?.transformToString()) as string);
      await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: JSON.stringify({ ...stored, expiresAt: Date.now() - 1000 }), ContentType: 'application/json' }));
      const res = await exchange(client, oauth.None(), params, verifier);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('expired') });
    });

    it('refuses an unknown client and a wrong client secret with invalid_client', async () => {
      const unknown = await fetch(as.token_endpoint as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'wsb_nobodyxxxxxxxxxxxxxxx', code: 'x', code_verifier: 'y', redirect_uri: REDIRECT }),
      });
      expect(unknown.status).toBe(401);
      expect(await unknown.json()).toMatchObject({ error: 'invalid_client' });
      const confidential = await register({ token_endpoint_auth_method: 'client_secret_basic' });
      const { params, verifier } = await codeFor(confidential, 'secret@example.com');
      const wrong = await exchange(confidential, oauth.ClientSecretBasic('not-the-secret'), params, verifier);
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
      const authorizeUnknown = await fetch(`${as.authorization_endpoint}?client_id=wsb_nobody&response_type=code`, { redirect: 'manual' });
      expect(authorizeUnknown.status).toBe(400);
    });

    it('refuses unsupported grant types and bad registrations in RFC 6749 error format', async () => {
      const res = await fetch(as.token_endpoint as string, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', client_id: client.client_id }) });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ error: 'unsupported_grant_type', error_description: expect.any(String) });
      expect(JSON.stringify(body)).not.toMatch(/at \w+ \(/); // no stack trace
      const reg = await fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: ['http://evil.example.com/cb'] }) });
      expect(reg.status).toBe(400);
      expect(await reg.json()).toMatchObject({ error: 'invalid_redirect_uri' });
    });

    it('never returns or forwards the Google client secret', async () => {
      const res = await fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT] }) });
      const text = await res.text();
      expect(text).not.toContain(world.google.clientSecret);
      expect(text).not.toContain(world.google.clientId);
    });
  });
});

describe('OAuth server configured with static clients, registration off, ES256 bearer keys', () => {
  const SECRET = 'static-client-secret-0123456789abcdef';
  let world: World;
  let sut: Service;
  let as: oauth.AuthorizationServer;
  const client: oauth.Client = { client_id: 'reporting-app', token_endpoint_auth_method: 'client_secret_basic' };

  beforeAll(async () => {
    world = await startWorld();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    sut = await startService(world, {
      JWT_ISSUER: undefined,
      JWT_SECRET: undefined,
      JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      OAUTH_DYNAMIC_REGISTRATION: 'false',
      OAUTH_STATIC_CLIENTS: JSON.stringify([
        { client_id: 'reporting-app', redirect_uris: [REDIRECT], client_secret_sha256: createHash('sha256').update(SECRET).digest('hex'), first_party: true },
      ]),
    });
    const issuer = new URL(sut.url);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  });
  afterAll(() => stopAll(world, sut));

  it('refuses registration and does not advertise it', async () => {
    expect(as.registration_endpoint).toBeUndefined();
    const res = await fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT] }) });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'registration_disabled', message: expect.stringContaining('OAUTH_STATIC_CLIENTS') });
  });

  it('serves the static client, and its ES256 access tokens verify against /.well-known/jwks.json', async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(as.authorization_endpoint as string);
    const params = { client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const { location: callback, consentPages } = await authorizeInBrowser(world, url.toString(), 'static@example.com');
    expect(consentPages).toHaveLength(0); // first party: no consent page
    if (!callback) throw new Error('no redirect to the client');
    const code = oauth.validateAuthResponse(as, client, callback, oauth.expectNoState);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(SECRET), code, REDIRECT, verifier, insecure),
    );
    expect(as.jwks_uri).toBe(`${sut.url}/.well-known/jwks.json`);
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(as.jwks_uri as string)), { issuer: sut.url });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: 'static@example.com', client_id: 'reporting-app' });
    expect((await getWithBearer(sut, '/v1/users/me/calendar/events', tokens.access_token)).status).toBe(200);
    const wrong = await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic('wrong'), tokens.access_token, insecure);
    expect(wrong.status).toBe(401);
  });
});
