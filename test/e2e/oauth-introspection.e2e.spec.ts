import { createHash, randomBytes } from 'node:crypto';
import { Browser } from '../support/http-client.js';
import { authorizeInBrowser, authorizeUrl, tokensThroughOAuth } from '../support/oauth-consent.js';
import { Endpoint, getWithBearer, Service, signIn, startService, startWorld, World } from '../support/harness.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';

interface Confidential {
  id: string;
  secret: string;
}

/** Registers a confidential client (client_secret_post), as anyone may. */
async function registerConfidential(service: Endpoint, name: string): Promise<Confidential> {
  const res = await fetch(`${service.url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_post', client_name: name }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { client_id: string; client_secret: string };
  return { id: body.client_id, secret: body.client_secret };
}

/** Authorizes `email` for the confidential client in a browser and exchanges the code with its secret. */
async function tokensFor(world: World, service: Endpoint, client: Confidential, email: string): Promise<{ access_token: string; refresh_token: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = authorizeUrl(service.url, { client_id: client.id, redirect_uri: REDIRECT, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' });
  const { location } = await authorizeInBrowser(world, url, email, { browser: new Browser() });
  const code = location?.searchParams.get('code') as string;
  const res = await fetch(`${service.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.id, client_secret: client.secret }),
  });
  if (res.status !== 200) throw new Error(`exchange failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

/** POST /oauth/introspect as `client`; answers the status and the JSON. */
async function introspect(service: Endpoint, client: Confidential, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${service.url}/oauth/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: client.id, client_secret: client.secret }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const INACTIVE = { status: 200, body: { active: false } };

describe('Token introspection tells a client only about its own tokens', () => {
  let world: World;
  let sut: Service;
  let owner: Confidential;
  let stranger: Confidential;
  let ownTokens: { access_token: string; refresh_token: string };

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world);
    owner = await registerConfidential(sut, 'owner app');
    stranger = await registerConfidential(sut, 'anonymous stranger');
    ownTokens = await tokensFor(world, sut, owner, 'erin@example.com');
  });
  afterAll(async () => {
    await sut?.close();
    await world?.close();
  });

  it('describes the client\'s own access and refresh tokens', async () => {
    expect(await introspect(sut, owner, ownTokens.access_token)).toMatchObject({
      status: 200,
      body: { active: true, token_type: 'Bearer', client_id: owner.id, sub: 'erin@example.com', sid: expect.any(String) },
    });
    expect(await introspect(sut, owner, ownTokens.refresh_token)).toMatchObject({
      status: 200,
      body: { active: true, token_type: 'refresh_token', client_id: owner.id, sub: 'erin@example.com', exp: expect.any(Number) },
    });
  });

  it('answers only {"active":false} for another client\'s live access and refresh tokens, which keep working', async () => {
    expect(await introspect(sut, stranger, ownTokens.access_token)).toEqual(INACTIVE);
    expect(await introspect(sut, stranger, ownTokens.refresh_token)).toEqual(INACTIVE);
    // A public client's tokens too.
    const publicTokens = await tokensThroughOAuth(world, sut.url, 'frank@example.com');
    expect(await introspect(sut, stranger, publicTokens.access_token)).toEqual(INACTIVE);
    expect(await introspect(sut, stranger, publicTokens.refresh_token as string)).toEqual(INACTIVE);
    // Asking changed nothing: the tokens are live for their holders.
    expect((await getWithBearer(sut, '/auth/session', ownTokens.access_token)).status).toBe(200);
    expect((await introspect(sut, owner, ownTokens.refresh_token)).body.active).toBe(true);
  });

  it('answers only {"active":false} for a browser sign-in token, to every client', async () => {
    const browser = await signIn(sut, world, 'dave@example.com');
    expect((await getWithBearer(sut, '/auth/session', browser.access_token)).status).toBe(200);
    expect(await introspect(sut, stranger, browser.access_token)).toEqual(INACTIVE);
    expect(await introspect(sut, owner, browser.access_token)).toEqual(INACTIVE);
  });
});
