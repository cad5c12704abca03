import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import type { FaultRule } from '../support/fault-proxy.js';
import { Browser } from '../support/http-client.js';
import { authorizeInBrowser, authorizeUrl, tokensThroughOAuth } from '../support/oauth-consent.js';
import { getWithBearer } from '../support/harness.js';

const S3_TIMEOUT_MS = 1500;
const REDIRECT = 'http://127.0.0.1:8765/callback';
const CLIENTS = /\/oauth\/clients\//;
const FAMILIES = /\/oauth\/refresh\//;
/** RFC 6749 section 5.2's shape for "try again" (asOAuthUnavailable), the service's own code kept as `reason`. */
const TRY_AGAIN = { statusCode: 503, error: 'temporarily_unavailable', error_description: expect.stringContaining('S3'), message: expect.stringContaining('S3'), reason: 'storage_unavailable' };

/**
 * The two OAuth endpoints besides /oauth/token and /oauth/revoke that touch S3, with S3 failing: registration and
 * introspection answer 503 in the OAuth error shape with Retry-After (an OAuth library reads `error`; the service's
 * own `storage_unavailable` there was a code it did not know), and the failure leaves nothing behind: no client
 * object a retry would duplicate, no token made inactive.
 */
describe('OAuth registration and introspection: S3 failing', () => {

  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) });

  const register = (metadata: Record<string, unknown>) =>
    fetch(`${app.sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT], ...metadata }) });

  async function storedClients(): Promise<string[]> {
    const out = await app.world.admin.send(new ListObjectsV2Command({ Bucket: app.world.bucket, Prefix: 'oauth/clients/' }));
    return (out.Contents ?? []).map((o) => o.Key as string);
  }

  const registrationCases: Array<[string, FaultRule]> = [
    ['answers 503', { fault: 'answer', status: 503, times: Infinity, method: 'PUT', path: CLIENTS }],
    ['stalls', { fault: 'stall', times: Infinity, method: 'PUT', path: CLIENTS }],
  ];

  it.each(registrationCases)('a registration whose client write S3 %s: 503 temporarily_unavailable with Retry-After, nothing stored, and registering again works', async (_label, rule) => {
    const before = await storedClients();
    app.s3.inject(rule);
    const started = Date.now();
    const failed = await register({ token_endpoint_auth_method: 'none', client_name: 'fault app' });
    const elapsed = Date.now() - started;
    app.s3.clear();
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await failed.json()).toEqual(TRY_AGAIN);
    expect(elapsed).toBeLessThan(2 * S3_TIMEOUT_MS + 1000);
    expect(await storedClients()).toEqual(before);

    const tokens = await tokensThroughOAuth(app.world, app.sut.url, `register-${registrationCases.findIndex(([, r]) => r === rule)}@example.com`);
    expect((await getWithBearer(app.sut, '/auth/session', tokens.access_token)).status).toBe(200);
  });

  it('every answer of the client write lost (S3 stored it): 503 temporarily_unavailable; the stored client has an id nobody was given, and registering again works', async () => {
    const before = await storedClients();
    app.s3.inject({ fault: 'drop-answer', times: Infinity, method: 'PUT', path: CLIENTS });
    const failed = await register({ token_endpoint_auth_method: 'none', client_name: 'fault app' });
    app.s3.clear();
    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual(TRY_AGAIN);
    expect((await storedClients()).length - before.length).toBeLessThanOrEqual(1);
    const tokens = await tokensThroughOAuth(app.world, app.sut.url, 'register-lost-answers@example.com');
    expect((await getWithBearer(app.sut, '/auth/session', tokens.access_token)).status).toBe(200);
  });

  it('one answer of the client write lost: the storage layer\'s retry meets its own write, 201, and the client works', async () => {
    app.s3.inject({ fault: 'drop-answer', times: 1, method: 'PUT', path: CLIENTS });
    const res = await register({ token_endpoint_auth_method: 'none', client_name: 'fault app' });
    app.s3.clear();
    expect(res.status).toBe(201);
    const { client_id: clientId } = (await res.json()) as { client_id: string };
    const authorized = await fetch(`${app.sut.url}/oauth/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: 'A'.repeat(43), code_challenge_method: 'S256' })}`, { headers: { accept: 'text/html' } });
    expect(authorized.status).toBe(200); // the consent page: the client is known
  });

  it('an MCP SDK 1.x client registering while S3 fails reads TemporarilyUnavailableError, not a ServerError', async () => {
    const { registerClient } = await import('@modelcontextprotocol/sdk/client/auth.js');
    const { ServerError, TemporarilyUnavailableError } = await import('@modelcontextprotocol/sdk/server/auth/errors.js');
    app.s3.inject({ fault: 'answer', status: 503, times: Infinity, method: 'PUT', path: CLIENTS });
    const failure = await registerClient(new URL(app.sut.url), {
      metadata: { issuer: app.sut.url, authorization_endpoint: `${app.sut.url}/oauth/authorize`, token_endpoint: `${app.sut.url}/oauth/token`, registration_endpoint: `${app.sut.url}/oauth/register`, response_types_supported: ['code'] },
      clientMetadata: { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', client_name: 'sdk app' },
    }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(TemporarilyUnavailableError);
    expect(failure).not.toBeInstanceOf(ServerError);
  });

  describe('introspection', () => {
    let client: { id: string; secret: string };
    let tokens: { access_token: string; refresh_token: string };

    beforeAll(async () => {
      const res = await register({ token_endpoint_auth_method: 'client_secret_post', client_name: 'introspecting app' });
      const body = (await res.json()) as { client_id: string; client_secret: string };
      client = { id: body.client_id, secret: body.client_secret };
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const url = authorizeUrl(app.sut.url, { client_id: client.id, redirect_uri: REDIRECT, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' });
      const { location } = await authorizeInBrowser(app.world, url, 'introspect-faults@example.com', { browser: new Browser() });
      const exchanged = await fetch(`${app.sut.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: location?.searchParams.get('code') as string, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.id, client_secret: client.secret }),
      });
      tokens = (await exchanged.json()) as typeof tokens;
    });

    const introspect = (token: string) =>
      fetch(`${app.sut.url}/oauth/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: client.id, client_secret: client.secret }),
      });

    const introspectionCases: Array<[string, FaultRule, 'access_token' | 'refresh_token']> = [
      ['the client lookup', { fault: 'answer', status: 503, times: Infinity, method: 'GET', path: CLIENTS }, 'access_token'],
      ['the refresh family lookup', { fault: 'answer', status: 503, times: Infinity, method: 'GET', path: FAMILIES }, 'refresh_token'],
      ['the refresh family lookup (stalled)', { fault: 'stall', times: Infinity, method: 'GET', path: FAMILIES }, 'refresh_token'],
    ];

    it.each(introspectionCases)('S3 failing %s: 503 temporarily_unavailable with Retry-After (not active:false), and the token is still active afterwards', async (_label, rule, which) => {
      app.s3.inject(rule);
      const failed = await introspect(tokens[which]);
      app.s3.clear();
      expect(failed.status).toBe(503);
      expect(failed.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await failed.json()).toEqual(TRY_AGAIN);
      const again = await introspect(tokens[which]);
      expect(again.status).toBe(200);
      expect(await again.json()).toMatchObject({ active: true, client_id: client.id, sub: 'introspect-faults@example.com' });
    });
  });
});
