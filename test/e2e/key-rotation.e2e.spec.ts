import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { Browser } from '../support/http-client.js';
import { getWithBearer, startService, startWorld, type Endpoint, type Service, type World } from '../support/harness.js';
import { authorizeUrl, readConsentPage, refreshGrant, registerPublicClient } from '../support/oauth-consent.js';

/**
 * Rotating the signing key with a rolling update (README, "Rotating the signing key"). Two replicas on one bucket:
 * A still signs with the old key and accepts the new one (phase 1, or a pod not yet replaced in phase 2), B already
 * signs with the new key and accepts the old one (phase 2). Every request may land on either; nobody may notice.
 * Then phase 3: the old key is dropped, and only its tokens end.
 */
const OLD = `old-${randomBytes(32).toString('base64url')}`;
const NEW = `new-${randomBytes(32).toString('base64url')}`;

const kidOf = (token: string): unknown => (JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as { kid?: unknown }).kid;

/** A bearer's answer on /auth/session: its status and, for a 401, the error code. */
async function sessionStatus(service: Endpoint, token: string): Promise<{ status: number; error?: string }> {
  const res = await getWithBearer(service, '/auth/session', token);
  return { status: res.status, ...(res.status === 401 ? { error: ((await res.json()) as { error: string }).error } : {}) };
}

/**
 * A sign-in started on `from` whose Google callback lands on `to` (behind one load balancer, either may get it). Both
 * have A's PUBLIC_URL; the browser reaches `from` by its own port, where a real one would use the public host, so it
 * says the move to PUBLIC_URL's host was done (`host_redirected`, see FlowReplies) and the flow starts on `from`.
 */
async function signInAcross(world: World, from: Service, to: Service, email: string): Promise<Response> {
  const browser = new Browser();
  const start = await browser.get(`${from.url}/auth/google?${new URLSearchParams({ login_hint: email, host_redirected: '1' })}`);
  const google = start.headers.get('location') ?? '';
  expect(google.startsWith(world.google.urls.auth)).toBe(true);
  const callback = new URL(await world.google.approve(google, { email }));
  return browser.get(`${to.url}${callback.pathname}${callback.search}`);
}

/** A whole sign-in on one replica (started and finished there); the bearer it answers. */
async function signInOn(world: World, replica: Service, email: string): Promise<{ access_token: string }> {
  const res = await signInAcross(world, replica, replica, email);
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { access_token: string };
}

describe('Signing-key rotation across replicas (JWT_ACCEPTED_SECRETS)', () => {
  let world: World;
  let a: Service;
  let b: Service;

  beforeAll(async () => {
    world = await startWorld();
    a = await startService(world, { JWT_SECRET: OLD, JWT_ACCEPTED_SECRETS: NEW });
    // Behind one Service both have the same public URL (Google sends every callback there): A's here.
    b = await startService(world, { JWT_SECRET: NEW, JWT_ACCEPTED_SECRETS: OLD, PUBLIC_URL: a.url });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await world?.close();
  });

  it('a bearer from either replica works on both, each naming its own key', async () => {
    const fromA = await signInOn(world, a, 'rot-a@example.com');
    const fromB = await signInOn(world, b, 'rot-b@example.com');
    expect(kidOf(fromA.access_token)).not.toBe(kidOf(fromB.access_token));
    for (const replica of [a, b]) {
      expect(await sessionStatus(replica, fromA.access_token)).toEqual({ status: 200 });
      expect(await sessionStatus(replica, fromB.access_token)).toEqual({ status: 200 });
      expect((await getWithBearer(replica, '/v1/users/me/gmail/messages', fromB.access_token)).status).toBe(200);
    }
  });

  it('a sign-in started on one replica and finished on the other works, both ways (the flow cookie)', async () => {
    for (const [from, to, email] of [[a, b, 'rot-ab@example.com'], [b, a, 'rot-ba@example.com']] as const) {
      const res = await signInAcross(world, from, to, email);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { email: string; access_token: string };
      expect(body.email).toBe(email);
      expect((await sessionStatus(from, body.access_token)).status).toBe(200);
    }
  });

  it('an OAuth client\'s authorization hopping between replicas at every step gets its code, and a refresh retried on the other replica gets the same successor', async () => {
    const redirectUri = 'http://127.0.0.1:8765/callback';
    const clientId = await registerPublicClient(a, { redirect_uris: [redirectUri], client_name: 'rotation app' });
    const verifier = randomBytes(32).toString('base64url');
    const params = { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' };
    // Every request to the service goes to the replica after the one before: the consent form sealed on one is
    // posted to the other, the handoff link and the flow cookie cross too, and so does whatever comes after Google.
    const replicas = [a, b];
    let turn = 0;
    const next = (url: string) => {
      const u = new URL(url);
      return `${replicas[turn++ % 2].url}${u.pathname}${u.search}`;
    };
    const browser = new Browser();
    let res = await browser.get(next(authorizeUrl(a.url, params)), { accept: 'text/html' });
    let code: string | null = null;
    for (let hop = 0; hop < 12 && code === null; hop++) {
      if (res.status === 200) {
        const page = readConsentPage(await res.text());
        if (!page) throw new Error('a page that is not the consent page');
        // The browser's Origin is the public one whichever pod answers.
        res = await browser.post(next(page.action), { request: page.request, decision: 'allow' }, { origin: a.url, accept: 'text/html' });
        continue;
      }
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) throw new Error(`stopped at ${res.status}: ${await res.text()}`);
      if (location.startsWith(world.google.urls.auth)) res = await browser.get(next(await world.google.approve(location, { email: 'rot-oauth@example.com' })), { accept: 'text/html' });
      else if (location.startsWith(a.url)) res = await browser.get(next(location), { accept: 'text/html' });
      else code = new URL(location).searchParams.get('code');
    }
    expect(turn).toBeGreaterThanOrEqual(4); // consent, handoff, Google's callback: each on the other replica
    expect(code).toBeTruthy();
    const exchanged = await fetch(`${b.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code: code as string, code_verifier: verifier, redirect_uri: redirectUri }),
    });
    expect(exchanged.status).toBe(200);
    const tokens = (await exchanged.json()) as { access_token: string; refresh_token: string };
    expect((await sessionStatus(a, tokens.access_token)).status).toBe(200);

    // The answer of a refresh on A is lost; the client retries on B within the reuse grace window. The successor is
    // derived with A's key: B must find it (not see reuse and revoke the whole family).
    const first = await refreshGrant(a.url, clientId, tokens.refresh_token);
    expect(first.status).toBe(200);
    const retry = await refreshGrant(b.url, clientId, tokens.refresh_token);
    expect(retry.status).toBe(200);
    expect(retry.body.refresh_token).toBe(first.body.refresh_token);
    expect((await refreshGrant(b.url, clientId, retry.body.refresh_token)).status).toBe(200);
  });

  it('phase 3: with the old key dropped, a token it signed gets 401 invalid_token; the new key\'s tokens and sign-ins go on', async () => {
    const old = await signInOn(world, a, 'rot-old@example.com');
    const current = await signInOn(world, b, 'rot-new@example.com');
    const c = await startService(world, { JWT_SECRET: NEW, PUBLIC_URL: a.url });
    try {
      expect(await sessionStatus(c, old.access_token)).toEqual({ status: 401, error: 'invalid_token' });
      expect(await sessionStatus(c, current.access_token)).toEqual({ status: 200 });
      // A sign-in started on a phase-2 replica finishes on a phase-3 one: B seals with the new key.
      expect((await signInAcross(world, b, c, 'rot-late@example.com')).status).toBe(200);
      // ...but not one started on the old key: that key is no longer trusted for anything.
      expect((await signInAcross(world, a, c, 'rot-stale@example.com')).status).toBe(400);
    } finally {
      await c.close();
    }
  });
});

describe('Signing-key rotation with ES256 (JWT_ACCEPTED_PUBLIC_KEYS)', () => {
  const ecPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = (k: ReturnType<typeof ecPair>) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const spki = (k: ReturnType<typeof ecPair>) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const oldPair = ecPair();
  const newPair = ecPair();
  let world: World;
  let a: Service;
  let b: Service;

  beforeAll(async () => {
    world = await startWorld();
    // A accepts only the new public key (bearers); B accepts the old private key itself, so what A sealed (a sign-in's
    // flow cookie) opens on B. A's key is written on one line (newlines as \n), B's copy of it with real newlines.
    a = await startService(world, { JWT_SECRET: undefined, JWT_PRIVATE_KEY: pkcs8(oldPair).replace(/\n/g, '\\n'), JWT_ACCEPTED_PUBLIC_KEYS: spki(newPair) });
    b = await startService(world, { JWT_SECRET: undefined, JWT_PRIVATE_KEY: pkcs8(newPair), JWT_ACCEPTED_PUBLIC_KEYS: pkcs8(oldPair), PUBLIC_URL: a.url });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await world?.close();
  });

  it('both replicas publish both public keys (nothing private); each verifies the other\'s tokens, and so does a resource server', async () => {
    const jwks = await Promise.all([a, b].map(async (r) => (await (await fetch(`${r.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet));
    for (const set of jwks) {
      expect(set.keys).toHaveLength(2);
      expect(set.keys.some((k) => 'd' in k)).toBe(false);
    }
    expect(new Set(jwks.flatMap((s) => s.keys.map((k) => k.kid))).size).toBe(2);
    const fromA = await signInOn(world, a, 'es-a@example.com');
    const fromB = await signInOn(world, b, 'es-b@example.com');
    for (const replica of [a, b]) {
      expect((await sessionStatus(replica, fromA.access_token)).status).toBe(200);
      expect((await sessionStatus(replica, fromB.access_token)).status).toBe(200);
    }
    const set = createLocalJWKSet(jwks[0]);
    for (const token of [fromA.access_token, fromB.access_token]) {
      expect((await jwtVerify(token, set, { issuer: 'https://broker.test', algorithms: ['ES256'] })).protectedHeader.kid).toBe(kidOf(token));
    }
  });

  it('a sign-in started on A finishes on B (B holds the old private key, written differently from A\'s)', async () => {
    const res = await signInAcross(world, a, b, 'es-ab@example.com');
    expect(res.status).toBe(200);
  });
});
