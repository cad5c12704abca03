import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { objectExists, readObject, startService, startWorld, stopAll, type Service, type World } from '../support/harness.js';
import { authorizeInBrowser, authorizeUrl, refreshGrant, tokensThroughOAuth } from '../support/oauth-consent.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const INITIAL_TOKEN = 'initial-access-token-0123456789abcdef';

describe('Client registration: bounded, optionally behind an initial access token, unused clients deleted', () => {
  let world: World;
  let open: Service;
  let gated: Service;

  beforeAll(async () => {
    world = await startWorld();
    open = await startService(world);
    gated = await startService(world, { OAUTH_REGISTRATION_TOKEN: INITIAL_TOKEN });
  });
  afterAll(async () => {
    await gated?.close();
    await stopAll(world, open);
  });

  const register = (service: Service, metadata: unknown, headers: Record<string, string> = {}) =>
    fetch(`${service.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(metadata) });

  it('caps the number and length of redirect URIs, names and other strings, and the body size', async () => {
    const many = Array.from({ length: 6 }, (_, i) => `http://127.0.0.1:8765/cb${i}`);
    const cases: Array<[string, unknown, number, string]> = [
      ['6 redirect URIs', { redirect_uris: many }, 400, 'invalid_redirect_uri'],
      ['a 600-character redirect URI', { redirect_uris: [`https://app.example/${'a'.repeat(600)}`] }, 400, 'invalid_redirect_uri'],
      ['a 101-character name', { redirect_uris: [REDIRECT], client_name: 'n'.repeat(101) }, 400, 'invalid_client_metadata'],
      ['a name with control characters', { redirect_uris: [REDIRECT], client_name: 'evil\u0007app' }, 400, 'invalid_client_metadata'],
      ['a 600-character other string', { redirect_uris: [REDIRECT], tos_uri: `https://app.example/${'t'.repeat(600)}` }, 400, 'invalid_client_metadata'],
      ['a plain-http client_uri', { redirect_uris: [REDIRECT], client_uri: 'http://app.example' }, 400, 'invalid_client_metadata'],
      ['a 30 KB body', { redirect_uris: [REDIRECT], padding: Array.from({ length: 100 }, () => 'p'.repeat(300)) }, 413, 'invalid_client_metadata'], // RFC 7591's shape; the framework's payload_too_large is its reason
    ];
    for (const [what, metadata, status, error] of cases) {
      const res = await register(open, metadata);
      expect({ what, status: res.status }).toEqual({ what, status });
      expect(await res.json()).toMatchObject({ statusCode: status, error, message: expect.any(String) });
    }
    expect((await register(open, { redirect_uris: many.slice(0, 5), client_name: 'n'.repeat(100) })).status).toBe(201);
  });

  it('with OAUTH_REGISTRATION_TOKEN set, registration needs it as a bearer (RFC 7591 section 3)', async () => {
    const none = await register(gated, { redirect_uris: [REDIRECT] });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    expect(await none.json()).toMatchObject({ error: 'invalid_token', message: expect.stringContaining('Authorization: Bearer') });
    expect((await register(gated, { redirect_uris: [REDIRECT] }, { authorization: `Bearer ${INITIAL_TOKEN}x` })).status).toBe(401);
    expect((await register(gated, { redirect_uris: [REDIRECT] }, { authorization: `Bearer ${INITIAL_TOKEN}` })).status).toBe(201);
    expect((await register(open, { redirect_uris: [REDIRECT] })).status).toBe(201); // not set: open
  });

  it('deletes a client unused for OAUTH_UNUSED_CLIENT_TTL_DAYS (30) when it is next looked up, and keeps one in use', async () => {
    const idle = ((await (await register(open, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' })).json()) as { client_id: string }).client_id;
    const busy = ((await (await register(open, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' })).json()) as { client_id: string }).client_id;
    const age = async (clientId: string, days: number) => {
      const key = `oauth/clients/${clientId}.json`;
      const { json } = await readObject(world, key);
      const past = new Date(Date.now() - days * 24 * 3600 * 1000).toISOString();
      await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: JSON.stringify({ ...json, createdAt: past, lastUsedAt: past }), ContentType: 'application/json' }));
    };
    await age(idle, 31);
    await age(busy, 29);
    const params = (clientId: string) => ({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: createHash('sha256').update('x').digest('base64url'), code_challenge_method: 'S256' });
    const gone = await fetch(authorizeUrl(open.url, params(idle)), { redirect: 'manual' });
    expect(gone.status).toBe(400);
    expect(await gone.json()).toMatchObject({ error: 'invalid_request', message: expect.stringContaining('Register') });
    expect(await objectExists(world, `oauth/clients/${idle}.json`)).toBe(false);
    // The busy client is used now: its last use is recorded, so it lives another 30 days.
    expect((await fetch(authorizeUrl(open.url, params(busy)), { headers: { accept: 'text/html' } })).status).toBe(200);
    // Recorded without holding the answer back (OAuthClientRepository.recordUse): it lands shortly after.
    const recorded = async () => Date.now() - Date.parse((await readObject(world, `oauth/clients/${busy}.json`)).json.lastUsedAt as string) < 60_000;
    for (let i = 0; i < 40 && !(await recorded()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await recorded()).toBe(true);
  });
});

describe('Registered client metadata is enforced', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world);
  });
  afterAll(() => stopAll(world, sut));

  it('a client registered without the refresh_token grant gets no refresh token, and may not use one', async () => {
    const tokens = await tokensThroughOAuth(world, sut.url, 'no-refresh@example.com', { metadata: { grant_types: ['authorization_code'] } });
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.refresh_token).toBeUndefined();
    const other = await tokensThroughOAuth(world, sut.url, 'no-refresh@example.com');
    const refused = await refreshGrant(sut.url, tokens.clientId, other.refresh_token as string);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'unauthorized_client', error_description: expect.stringContaining('refresh_token') });
  });

  it('refuses response types and grant types it does not support at registration', async () => {
    for (const metadata of [{ response_types: ['token'] }, { grant_types: ['implicit'] }, { grant_types: ['refresh_token'] }, { grant_types: [] }]) {
      const res = await fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT], ...metadata }) });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_client_metadata' });
    }
  });

  it('a client authenticates only by the method it registered', async () => {
    const basic = await confidential('client_secret_basic');
    const post = await confidential('client_secret_post');
    const introspect = (headers: Record<string, string>, form: Record<string, string>) =>
      fetch(`${sut.url}/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ token: 'x', ...form }) });
    const basicHeader = (c: { id: string; secret: string }) => ({ authorization: `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}` });
    expect((await introspect(basicHeader(basic), {})).status).toBe(200);
    const basicViaPost = await introspect({}, { client_id: basic.id, client_secret: basic.secret });
    expect(basicViaPost.status).toBe(401);
    expect(await basicViaPost.json()).toMatchObject({ error: 'invalid_client', error_description: expect.stringContaining('client_secret_basic') });
    expect((await introspect({}, { client_id: post.id, client_secret: post.secret })).status).toBe(200);
    expect((await introspect(basicHeader(post), {})).status).toBe(401);
    // And at the token endpoint, with a real code.
    const verifier = randomBytes(32).toString('base64url');
    const { location } = await authorizeInBrowser(
      world,
      authorizeUrl(sut.url, { client_id: basic.id, redirect_uri: REDIRECT, response_type: 'code', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' }),
      'methods@example.com',
    );
    const form = { grant_type: 'authorization_code', code: location?.searchParams.get('code') as string, code_verifier: verifier, redirect_uri: REDIRECT };
    const viaPost = await fetch(`${sut.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...form, client_id: basic.id, client_secret: basic.secret }) });
    expect(viaPost.status).toBe(401);
    expect(await viaPost.json()).toMatchObject({ error: 'invalid_client' });
    const viaBasic = await fetch(`${sut.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...basicHeader(basic) }, body: new URLSearchParams(form) });
    expect(viaBasic.status).toBe(200);
  });

  async function confidential(method: string): Promise<{ id: string; secret: string }> {
    const res = await fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: method }) });
    const body = (await res.json()) as { client_id: string; client_secret: string };
    return { id: body.client_id, secret: body.client_secret };
  }
});
