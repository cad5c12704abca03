import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { Browser } from '../support/http-client.js';
import { authorizeInBrowser, authorizeUrl, refreshGrant } from '../support/oauth-consent.js';
import { Endpoint, getWithBearer, readObject, Service, startService, startWorld, World } from '../support/harness.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const FAMILIES = /\/oauth\/refresh\//;
const USED_MARKERS = /\/sessions\/used\//;
const ROUNDS = 10;

interface Answer {
  status: number;
  json: { access_token?: string; refresh_token?: string; error?: string; error_description?: string };
}

/** Registers a public client (authorization_code + refresh_token) and answers its id. */
async function registerClient(service: Endpoint): Promise<string> {
  const res = await fetch(`${service.url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', client_name: 'code reuse tester' }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { client_id: string }).client_id;
}

/** Authorizes `email` for the client in a browser (consent Allowed) and answers the code-exchange form, unsent. */
async function codeExchangeForm(world: World, service: Endpoint, clientId: string, email: string): Promise<Record<string, string>> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = authorizeUrl(service.url, { client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' });
  const { location, stoppedAt } = await authorizeInBrowser(world, url, email, { browser: new Browser() });
  const code = location?.searchParams.get('code');
  if (!code) throw new Error(`no code: ${location ?? `${stoppedAt?.status} ${await stoppedAt?.text()}`}`);
  return { grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: REDIRECT };
}

async function exchange(service: Endpoint, form: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${service.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  return { status: res.status, json: (await res.json()) as Answer['json'] };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The user's sessions as S3 lists them (the per-user index every live session has an entry in). */
async function storedSessionsOf(world: World, email: string): Promise<string[]> {
  const out = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket, Prefix: `sessions/by-user/${email}/` }));
  return (out.Contents ?? []).map((o) => o.Key as string);
}

/**
 * Two redemptions of one code racing: at most one may succeed, and whatever it got must be dead once the other was
 * refused (RFC 6749 4.1.2, docs/http-api.md "a code used twice revokes what it issued"). Checks every round and answers the
 * outcomes seen, e.g. "200+400", "400+400".
 */
async function raceRounds(world: World, first: Endpoint, second: Endpoint, clientId: string, emailPrefix: string, settleMs = 0): Promise<Record<string, number>> {
  const outcomes: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const email = `${emailPrefix}-${round}@example.com`;
    const form = await codeExchangeForm(world, first, clientId, email);
    // The second leaves 0 to 45 ms later, so the rounds cover both orders in which the two reach the bucket.
    const answers = await Promise.all([exchange(first, form), delay((round % 4) * 15).then(() => exchange(second, form))]);
    const key = answers.map((a) => a.status).sort().join('+');
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    const winners = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(winners.length).toBeLessThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) expect(r).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    await delay(settleMs);
    const winner = winners[0];
    if (winner) {
      for (const replica of new Set([first, second])) {
        expect((await getWithBearer(replica, '/auth/session', winner.json.access_token as string)).status).toBe(401);
      }
      const refreshed = await refreshGrant(second.url, clientId, winner.json.refresh_token as string);
      expect(refreshed).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    }
    // Whichever side won, no session of this sign-in is left in the bucket.
    expect(await storedSessionsOf(world, email)).toEqual([]);
  }
  return outcomes;
}

describe('An authorization code redeemed twice', () => {
  let world: World;
  let sut: Service;
  let clientId: string;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world);
    clientId = await registerClient(sut);
  });
  afterAll(async () => {
    await sut?.close();
    await world?.close();
  });

  it('one after the other: the second is refused and revokes the tokens of the first', async () => {
    const form = await codeExchangeForm(world, sut, clientId, 'sequential@example.com');
    const first = await exchange(sut, form);
    expect(first.status).toBe(200);
    expect((await getWithBearer(sut, '/auth/session', first.json.access_token as string)).status).toBe(200);
    const again = await exchange(sut, form);
    expect(again).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('already used') } });
    expect((await getWithBearer(sut, '/auth/session', first.json.access_token as string)).status).toBe(401);
    expect(await refreshGrant(sut.url, clientId, first.json.refresh_token as string)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await storedSessionsOf(world, 'sequential@example.com')).toEqual([]);
  });

  it(`at the same time, ${ROUNDS} rounds: never two winners, and a winner's tokens are dead once the other was refused`, async () => {
    const outcomes = await raceRounds(world, sut, sut, clientId, 'race');
    process.stdout.write(`code races on one instance: ${JSON.stringify(outcomes)}\n`);
  }, 60_000);
});

describe('An authorization code is its own client\'s, for its lifetime: nobody else can spend it or revoke what it issued', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world);
  });
  afterAll(async () => {
    await sut?.close();
    await world?.close();
  });

  /** The answer of /auth/session and of a refresh for tokens a code issued: both 200 while its grant is alive. */
  async function grantAlive(clientId: string, tokens: Answer['json'], secret?: string): Promise<[number, number]> {
    const session = await getWithBearer(sut, '/auth/session', tokens.access_token as string);
    const form: Record<string, string> = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: clientId, ...(secret ? { client_secret: secret } : {}) };
    return [session.status, (await exchange(sut, form)).status];
  }

  it('presented by another client (its own credentials, RFC 6749 4.1.3), before or after the exchange: refused, the code not spent, the grant untouched', async () => {
    const registered = await fetch(`${sut.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_post', client_name: 'confidential victim' }),
    });
    const victim = (await registered.json()) as { client_id: string; client_secret: string };
    // Anyone can register a public client of their own and authenticate as it.
    const stranger = await registerClient(sut);
    const unsent = await codeExchangeForm(world, sut, victim.client_id, 'bound@example.com');
    const form = { ...unsent, client_secret: victim.client_secret };
    const strangers = { ...unsent, client_id: stranger }; // the same code, verifier and redirect URI

    expect(await exchange(sut, strangers)).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('another client') } });
    const tokens = await exchange(sut, form); // the code was not spent by the stranger's attempt
    expect(tokens).toMatchObject({ status: 200, json: { access_token: expect.any(String), refresh_token: expect.any(String) } });
    // The code found afterwards (a log, a browser history) is no replay of the client's: nothing it issued ends.
    expect(await exchange(sut, strangers)).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('another client') } });
    expect(await grantAlive(victim.client_id, tokens.json, victim.client_secret)).toEqual([200, 200]);
  });

  /** The code of `form` as someone who found it would present it (a log, a browser history, a Referer): the public client_id and the known redirect URI, with a verifier of their own (the real one never left the client). */
  const leaked = (form: Record<string, string>) => ({ ...form, code_verifier: randomBytes(32).toString('base64url') });

  it('presented by someone without the PKCE verifier (a public client\'s id is public) before the exchange: refused, and the code not spent', async () => {
    const clientId = await registerClient(sut);
    const form = await codeExchangeForm(world, sut, clientId, 'leaked-early@example.com');
    expect(await exchange(sut, leaked(form))).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('code_verifier') } });
    expect(await exchange(sut, { ...leaked(form), redirect_uri: 'http://127.0.0.1:8765/elsewhere' })).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    const tokens = await exchange(sut, form);
    expect(tokens).toMatchObject({ status: 200, json: { access_token: expect.any(String), refresh_token: expect.any(String) } });
    expect(await grantAlive(clientId, tokens.json)).toEqual([200, 200]);
  });

  it('presented by someone without the PKCE verifier after the exchange, within its 60 s: refused, and nothing it issued ends; the client itself presenting it again still revokes', async () => {
    const clientId = await registerClient(sut);
    const form = await codeExchangeForm(world, sut, clientId, 'leaked-late@example.com');
    const tokens = await exchange(sut, form);
    expect(tokens.status).toBe(200);
    expect(await exchange(sut, leaked(form))).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('code_verifier') } });
    expect(await grantAlive(clientId, tokens.json)).toEqual([200, 200]);
    // With the verifier it is the replay RFC 6749 4.1.2 means (the code and the verifier were both taken): revoked.
    expect(await exchange(sut, form)).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('already used') } });
    expect((await getWithBearer(sut, '/auth/session', tokens.json.access_token as string)).status).toBe(401);
  });

  it('presented again once it has expired (codes live 60 s): refused as expired, and the tokens it issued keep working', async () => {
    const clientId = await registerClient(sut);
    const form = await codeExchangeForm(world, sut, clientId, 'late-replay@example.com');
    const tokens = await exchange(sut, form);
    expect(tokens.status).toBe(200);
    // Age the stored grant past its lifetime, as if the code turned up in a log a while later.
    const key = `oauth/codes/${createHash('sha256').update(form.code).digest('base64url')}.json`;
    const stored = (await readObject(world, key)).json;
    await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: JSON.stringify({ ...stored, expiresAt: Date.now() - 1000 }), ContentType: 'application/json' }));
    expect(await exchange(sut, form)).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('expired') } });
    expect(await grantAlive(clientId, tokens.json)).toEqual([200, 200]);
  });
});

describe('An authorization code redeemed twice at once on two instances sharing only the bucket', () => {
  const TTL_MS = 300;
  let world: World;
  let a: Service;
  let b: Service;
  let clientId: string;

  beforeAll(async () => {
    world = await startWorld();
    a = await startService(world, { SESSION_CACHE_TTL_MS: String(TTL_MS) });
    b = await startService(world, { SESSION_CACHE_TTL_MS: String(TTL_MS) });
    clientId = await registerClient(a);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await world?.close();
  });

  it(`${ROUNDS} rounds, one redemption on each: a winner's tokens are dead on both within SESSION_CACHE_TTL_MS`, async () => {
    const outcomes = await raceRounds(world, a, b, clientId, 'replicas', TTL_MS + 100);
    process.stdout.write(`code races across two instances: ${JSON.stringify(outcomes)}\n`);
  }, 60_000);
});

describe('An authorization code replayed while its first exchange is still writing (S3 faults)', () => {
  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: '4000' });
  let clientId: string;

  beforeAll(async () => {
    clientId = await registerClient(app.sut);
  });

  it('the replay gets to the refresh token family first: the first exchange then issues nothing and leaves no session', async () => {
    const form = await codeExchangeForm(app.world, app.sut, clientId, 'slow-family@example.com');
    // Hold the first exchange's family write back, so the replay arrives between its session and its family; it goes
    // to S3 once the replay has answered (a fixed delay of 1 s was a window the whole replay had to fit in).
    const family = app.s3.holdNext({ method: 'PUT', path: FAMILIES });
    const first = exchange(app.sut, form);
    await family.arrived;
    const replay = await exchange(app.sut, form);
    expect(replay).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('already used') } });
    await family.release();
    expect(await first).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('nothing was issued') } });
    expect(await storedSessionsOf(app.world, 'slow-family@example.com')).toEqual([]);
  });

  it('the exchange\'s claim of the code is applied but its answer lost: the exchange still succeeds (not taken for a replay)', async () => {
    const form = await codeExchangeForm(app.world, app.sut, clientId, 'lost-claim@example.com');
    const since = Date.now();
    app.s3.inject({ method: 'PUT', path: USED_MARKERS, fault: 'drop-answer' });
    const answer = await exchange(app.sut, form);
    expect(app.s3.seen('PUT', USED_MARKERS).filter((r) => r.at >= since && r.fault === 'drop-answer' && r.forwarded)).toHaveLength(1);
    expect(answer).toMatchObject({ status: 200, json: { access_token: expect.any(String), refresh_token: expect.any(String) } });
    expect((await getWithBearer(app.sut, '/auth/session', answer.json.access_token as string)).status).toBe(200);
    // Presented again afterwards, it is a replay as ever: refused, and what it issued is revoked.
    expect(await exchange(app.sut, form)).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('already used') } });
    expect((await getWithBearer(app.sut, '/auth/session', answer.json.access_token as string)).status).toBe(401);
  });

  it('the replay\'s revocation write is applied but its answer lost: still refused with invalid_grant, the family revoked', async () => {
    const form = await codeExchangeForm(app.world, app.sut, clientId, 'lost-revocation@example.com');
    // An exchange that claimed the code and stopped before its family (its replica killed): its claim, written as
    // the service writes one. A wrong verifier no longer spends a code (see above), so this is the way to one.
    const marker = `sessions/used/${createHash('sha256').update(`oauth-code\0${form.code}`).digest('base64url')}.json`;
    const claim = { kind: 'oauth-code', used_at: new Date().toISOString(), claimed_by: 'a-replica-that-died' };
    await app.world.admin.send(new PutObjectCommand({ Bucket: app.world.bucket, Key: marker, Body: JSON.stringify(claim), ContentType: 'application/json' }));
    const since = Date.now();
    app.s3.inject({ method: 'PUT', path: FAMILIES, fault: 'drop-answer' });
    const replay = await exchange(app.sut, form);
    expect(app.s3.seen('PUT', FAMILIES).filter((r) => r.at >= since && r.fault === 'drop-answer' && r.forwarded)).toHaveLength(1);
    expect(replay).toMatchObject({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('already used') } });
    const familyKey = app.s3.seen('PUT', FAMILIES).find((r) => r.at >= since)?.path.replace(/^\/[^/]+\//, '') as string;
    expect((await readObject(app.world, familyKey)).json).toMatchObject({ revokedAt: expect.any(String) });
  });
});
