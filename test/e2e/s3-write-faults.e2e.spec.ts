import { FaultProxy } from '../support/fault-proxy.js';
import { Browser } from '../support/http-client.js';
import { refreshGrant, tokensThroughOAuth } from '../support/oauth-consent.js';
import { getWithBearer, postToken, Service, signIn, startService, startSignIn, startWorld, World } from '../support/harness.js';

const S3_TIMEOUT_MS = 1500;
const MARGIN_MS = 1500;
const FAMILIES = /\/oauth\/refresh\//;
const SESSIONS = /\/sessions\/[A-Za-z0-9_-]{43}\.json$/;
const INDEX = /\/sessions\/by-user\//;

async function timed(p: Promise<Response>): Promise<{ status: number; ms: number; body: Record<string, unknown> }> {
  const started = Date.now();
  const res = await p;
  const text = await res.text();
  return { status: res.status, ms: Date.now() - started, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/**
 * Writes other than the Google refresh, with S3 failing as it does in production: the boot and the probes, the
 * session index written at sign-in, and an OAuth client's revocation of its own grant (/oauth/revoke).
 */
describe('S3 failing during boot, session creation and /oauth/revoke', () => {
  let world: World;
  let s3: FaultProxy;
  let sut: Service;
  let other: Service; // a replica with a direct line to S3

  beforeAll(async () => {
    world = await startWorld();
    s3 = await FaultProxy.start(world.s3.endpoint);
    other = await startService(world, { S3_TIMEOUT_MS: String(S3_TIMEOUT_MS), SESSION_CACHE_TTL_MS: '200' });
  });
  afterEach(() => s3.clear());
  afterAll(async () => {
    await sut?.close();
    await other?.close();
    await s3?.stop();
    await world?.close();
  });

  it('boots while S3 never answers: live 200 at once, ready 503 within S3_TIMEOUT_MS, ready 200 once S3 answers', async () => {
    s3.blackhole(true);
    const started = Date.now();
    sut = await startService(world, { S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: String(S3_TIMEOUT_MS), SESSION_CACHE_TTL_MS: '200' });
    expect(Date.now() - started).toBeLessThan(S3_TIMEOUT_MS + MARGIN_MS);
    const live = await timed(fetch(`${sut.url}/health/live`));
    expect(live).toMatchObject({ status: 200 });
    expect(live.ms).toBeLessThan(500);
    const ready = await timed(fetch(`${sut.url}/health/ready`));
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(S3_TIMEOUT_MS + MARGIN_MS);
    s3.blackhole(false);
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await fetch(`${sut.url}/health/ready`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
  });

  it('readiness while S3 answers every request with 503 (SlowDown): 503 at once, live stays 200', async () => {
    s3.inject({ fault: 'answer', status: 503, body: '<Error><Code>SlowDown</Code></Error>', contentType: 'application/xml', times: Infinity });
    const ready = await timed(fetch(`${sut.url}/health/ready`));
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(S3_TIMEOUT_MS + MARGIN_MS);
    expect((await fetch(`${sut.url}/health/live`)).status).toBe(200);
  });

  it('a session whose index entry S3 refused gets no bearer (503), and a revocation after the retry ends every session that has one', async () => {
    const email = 'index-refused@example.com';
    const browser = new Browser();
    const callbackUrl = await world.google.approve(await startSignIn(sut, browser, email), { email });
    s3.inject({ method: 'PUT', path: INDEX, fault: 'answer', status: 503, times: Infinity });
    const failed = await timed(browser.get(callbackUrl));
    s3.clear();
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ error: 'storage_unavailable' });
    const a = await signIn(sut, world, email);
    const b = await signIn(other, world, email);
    expect((await postToken(other, '/auth/revoke', b.access_token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300)); // SESSION_CACHE_TTL_MS on sut
    for (const token of [a.access_token, b.access_token]) {
      for (const replica of [sut, other]) expect((await getWithBearer(replica, '/auth/session', token)).status).toBe(401);
    }
  });

  const revokeStalls: Array<[string, RegExp]> = [
    ['the revocation mark write', /\/sessions\/revoking\//],
    ['the revocation time write', /\/sessions\/revoked\//],
    ['the credentials delete', /\/credentials\//],
    ['the session deletes', SESSIONS],
  ];

  it.each(revokeStalls)('/auth/revoke while S3 stalls %s: 503 revocation_incomplete within the bound, and a retry on another replica finishes it', async (_label, path) => {
    const email = `revoke-stall-${revokeStalls.findIndex(([, p]) => p === path)}@example.com`;
    const first = await signIn(sut, world, email);
    const second = await signIn(other, world, email);
    s3.inject({ path, fault: 'stall', times: Infinity, method: path === SESSIONS || path.source.includes('credentials') ? 'DELETE' : 'PUT' });
    const failed = await timed(postToken(sut, '/auth/revoke', first.access_token));
    s3.clear();
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ error: 'revocation_incomplete' });
    expect(failed.ms).toBeLessThan(2 * S3_TIMEOUT_MS + MARGIN_MS);
    const retried = await timed(postToken(other, '/auth/revoke', second.access_token));
    expect(retried).toMatchObject({ status: 200, body: { revoked: true } });
    await new Promise((r) => setTimeout(r, 300));
    for (const token of [first.access_token, second.access_token]) {
      for (const replica of [sut, other]) expect((await getWithBearer(replica, '/auth/session', token)).status).toBe(401);
    }
  });

  it('/oauth/revoke of a refresh token whose session delete stalls: 503, never 200 while its access token still works; the retry ends it', async () => {
    const tokens = await tokensThroughOAuth(world, sut.url, 'oauth-revoke-stall@example.com');
    s3.inject({ method: 'DELETE', path: SESSIONS, fault: 'stall', times: Infinity });
    const revoke = () => fetch(`${sut.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token as string, client_id: tokens.clientId }),
    });
    const failed = await timed(revoke());
    expect(failed.status).toBe(503);
    expect(failed.ms).toBeLessThan(2 * S3_TIMEOUT_MS + MARGIN_MS);
    s3.clear();
    // Honest: the session was not ended, and the 503 said so.
    expect((await getWithBearer(other, '/auth/session', tokens.access_token)).status).toBe(200);
    const retried = await timed(revoke());
    expect(retried.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300)); // other trusts its copy for SESSION_CACHE_TTL_MS
    for (const replica of [sut, other]) expect((await getWithBearer(replica, '/auth/session', tokens.access_token)).status).toBe(401);
    expect((await refreshGrant(sut.url, tokens.clientId, tokens.refresh_token as string)).status).toBe(400);
  });

  it('/oauth/revoke whose family write S3 applied but every answer was lost: 503, and the retry answers 200 with the grant ended', async () => {
    const tokens = await tokensThroughOAuth(world, sut.url, 'oauth-revoke-lost@example.com');
    s3.inject({ method: 'PUT', path: FAMILIES, fault: 'drop-answer', times: Infinity });
    const revoke = () => fetch(`${sut.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token as string, client_id: tokens.clientId }),
    });
    expect((await revoke()).status).toBe(503);
    s3.clear();
    expect((await revoke()).status).toBe(200);
    expect((await getWithBearer(sut, '/auth/session', tokens.access_token)).status).toBe(401);
    expect((await refreshGrant(sut.url, tokens.clientId, tokens.refresh_token as string)).status).toBe(400);
  });
});
