import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import type { FaultRule } from '../support/fault-proxy.js';
import { authorizeInBrowser, authorizeUrl, pkceRequest, refreshGrant, registerPublicClient, tokensThroughOAuth } from '../support/oauth-consent.js';
import { getWithBearer, Service, startService } from '../support/harness.js';

const S3_TIMEOUT_MS = 1500;
const FAMILIES = /\/oauth\/refresh\//;
const SESSIONS = /\/sessions\/[A-Za-z0-9_-]{43}\.json$/;
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';

/**
 * The authorization server's writes at the token endpoint with S3 failing outright (503, a stall, every answer lost):
 * the client is told to retry (503 naming S3, within about S3_TIMEOUT_MS), and its retry with the same code or the
 * same refresh token completes instead of being taken for a replay that revokes the grant.
 */
describe('OAuth token endpoint: S3 failing during its writes', () => {
  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) });

  /** An authorization code for a fresh public client, with what the exchange needs. */
  async function codeFor(email: string): Promise<{ clientId: string; code: string; verifier: string }> {
    const clientId = await registerPublicClient(app.sut, { redirect_uris: [REDIRECT_URI], client_name: 'fault app' });
    const { verifier, params } = await pkceRequest(clientId, REDIRECT_URI);
    const { location } = await authorizeInBrowser(app.world, authorizeUrl(app.sut.url, params), email);
    const code = location?.searchParams.get('code');
    if (!code) throw new Error('no code');
    return { clientId, code, verifier };
  }

  async function exchange(c: { clientId: string; code: string; verifier: string }): Promise<{ status: number; body: Record<string, string>; elapsed: number }> {
    const started = Date.now();
    const res = await fetch(`${app.sut.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: c.clientId, code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT_URI }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string>, elapsed: Date.now() - started };
  }

  const s3Down = (rule: Omit<FaultRule, 'fault'> & { fault?: FaultRule['fault'] }): FaultRule =>
    rule.fault && rule.fault !== 'answer' ? ({ times: Infinity, ...rule } as FaultRule) : { fault: 'answer', status: 503, times: Infinity, ...rule };

  const exchangeCases: Array<[string, FaultRule]> = [
    ['the session write answers 503', s3Down({ method: 'PUT', path: SESSIONS })],
    ['the family write stalls', s3Down({ method: 'PUT', path: FAMILIES, fault: 'stall' })],
    ['every answer of the family write is lost', s3Down({ method: 'PUT', path: FAMILIES, fault: 'drop-answer' })],
    // Only the code's claim writes a one-time marker during an exchange.
    ['every answer of the code\'s claim is lost', s3Down({ method: 'PUT', path: /\/sessions\/used\//, fault: 'drop-answer' })],
    ['the session write stalls', { fault: 'stall', times: Infinity, method: 'PUT', path: SESSIONS }],
  ];

  it.each(exchangeCases)('a code exchange where %s: 503 to retry, and the retry with the same code gets tokens that work', async (_label, rule) => {
    const c = await codeFor(`exchange-${exchangeCases.findIndex(([, r]) => r === rule)}@example.com`);
    app.s3.inject(rule);
    const failed = await exchange(c);
    app.s3.clear();
    expect(failed.status).toBe(503);
    // RFC 6749's error shape (see asOAuthUnavailable), the service's own code kept as `reason`.
    expect(failed.body).toMatchObject({ statusCode: 503, error: 'temporarily_unavailable', error_description: expect.stringContaining('S3'), reason: 'storage_unavailable' });
    expect(failed.elapsed).toBeLessThan(2 * S3_TIMEOUT_MS + 1000);
    const retry = await exchange(c);
    expect(retry).toMatchObject({ status: 200, body: { access_token: expect.any(String), refresh_token: expect.any(String) } });
    expect((await getWithBearer(app.sut, '/auth/session', retry.body.access_token)).status).toBe(200);
    expect((await refreshGrant(app.sut.url, c.clientId, retry.body.refresh_token)).status).toBe(200);
  });

  it('a code exchange during which S3 goes silent answers 503 within about S3_TIMEOUT_MS, not a multiple', async () => {
    const c = await codeFor('exchange-silent@example.com');
    const since = Date.now();
    // The session write goes unanswered, by a rule set beforehand (turning the black hole on once the write was seen
    // would race the proxy's forwarding of it), and so does every S3 call after it.
    app.s3.inject({ method: 'PUT', path: SESSIONS, fault: 'stall', times: Infinity });
    const pending = exchange(c);
    while (!app.s3.seen('PUT', SESSIONS).some((r) => r.at >= since)) await new Promise((r) => setTimeout(r, 5));
    app.s3.blackhole(true);
    const failed = await pending;
    app.s3.blackhole(false);
    expect(failed.status).toBe(503);
    expect(failed.elapsed).toBeLessThan(S3_TIMEOUT_MS + 1300); // the bound plus the brief wait for the give-back
  });

  it('an authorization code S3 would not store: the person gets a 503 page naming S3 (not a 500), and a new authorization works', async () => {
    const email = 'code-write-503@example.com';
    const clientId = await registerPublicClient(app.sut, { redirect_uris: [REDIRECT_URI], client_name: 'fault app' });
    app.s3.inject({ method: 'PUT', path: /\/oauth\/codes\//, fault: 'answer', status: 503, times: Infinity });
    const failed = await authorizeInBrowser(app.world, authorizeUrl(app.sut.url, (await pkceRequest(clientId, REDIRECT_URI)).params), email);
    app.s3.clear();
    expect(failed.stoppedAt?.status).toBe(503);
    expect(await failed.stoppedAt?.text()).toContain('S3');
    const again = await authorizeInBrowser(app.world, authorizeUrl(app.sut.url, (await pkceRequest(clientId, REDIRECT_URI)).params), email);
    expect(again.location?.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('a code exchanged successfully and presented again is still a replay: invalid_grant, and its tokens are revoked', async () => {
    const c = await codeFor('exchange-replay@example.com');
    const first = await exchange(c);
    expect(first.status).toBe(200);
    const replay = await exchange(c);
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await getWithBearer(app.sut, '/auth/session', first.body.access_token)).status).toBe(401);
    expect((await refreshGrant(app.sut.url, c.clientId, first.body.refresh_token)).status).toBe(400);
  });

  const rotationCases: Array<[string, FaultRule]> = [
    ['the rotation write answers 503', s3Down({ method: 'PUT', path: FAMILIES })],
    ['the rotation write stalls', s3Down({ method: 'PUT', path: FAMILIES, fault: 'stall' })],
    ['every answer of the rotation write is lost (S3 applied it)', s3Down({ method: 'PUT', path: FAMILIES, fault: 'drop-answer' })],
  ];

  it.each(rotationCases)('a refresh where %s: 503 to retry, and the retry with the same refresh token keeps the grant', async (_label, rule) => {
    const tokens = await tokensThroughOAuth(app.world, app.sut.url, `rotate-${rotationCases.findIndex(([, r]) => r === rule)}@example.com`);
    app.s3.inject(rule);
    const started = Date.now();
    const failed = await refreshGrant(app.sut.url, tokens.clientId, tokens.refresh_token as string);
    const elapsed = Date.now() - started;
    app.s3.clear();
    expect(failed.status).toBe(503);
    expect(elapsed).toBeLessThan(2 * S3_TIMEOUT_MS + 1000);
    const retry = await refreshGrant(app.sut.url, tokens.clientId, tokens.refresh_token as string);
    expect(retry).toMatchObject({ status: 200, body: { refresh_token: expect.any(String) } });
    expect((await getWithBearer(app.sut, '/auth/session', retry.body.access_token)).status).toBe(200);
    expect((await refreshGrant(app.sut.url, tokens.clientId, retry.body.refresh_token)).status).toBe(200);
  });

  it('a refresh S3 fails: an MCP SDK 1.x client reads temporarily_unavailable and keeps its refresh token, instead of sending its user through a new authorization', async () => {
    // The SDK's auth() falls back to a new authorization (the person's browser, consent again) when a refresh fails
    // with ServerError, which is what it makes of any error code it does not know (the service's storage_unavailable
    // was one); any other OAuth error it reports, keeping the tokens for the next attempt.
    const { refreshAuthorization } = await import('@modelcontextprotocol/sdk/client/auth.js');
    const { ServerError, TemporarilyUnavailableError } = await import('@modelcontextprotocol/sdk/server/auth/errors.js');
    const tokens = await tokensThroughOAuth(app.world, app.sut.url, 'sdk-refresh-app.s3-down@example.com');
    app.s3.inject(s3Down({ method: 'PUT', path: FAMILIES }));
    const metadata = (await (await fetch(`${app.sut.url}/.well-known/oauth-authorization-server`)).json()) as Parameters<typeof refreshAuthorization>[1]['metadata'];
    const failure = await refreshAuthorization(new URL(app.sut.url), { metadata, clientInformation: { client_id: tokens.clientId }, refreshToken: tokens.refresh_token as string }).then(
      () => undefined,
      (err: unknown) => err,
    );
    app.s3.clear();
    expect(failure).toBeInstanceOf(TemporarilyUnavailableError);
    expect(failure).not.toBeInstanceOf(ServerError);
    expect((failure as Error).message).toContain('S3');
    expect((await refreshGrant(app.sut.url, tokens.clientId, tokens.refresh_token as string)).status).toBe(200);
  });

  describe('with no reuse grace window (OAUTH_REFRESH_REUSE_GRACE_SECONDS=0)', () => {
    let strict: Service;
    beforeAll(async () => {
      strict = await startService(app.world, { S3_ENDPOINT: app.s3.url, S3_TIMEOUT_MS: String(S3_TIMEOUT_MS), OAUTH_REFRESH_REUSE_GRACE_SECONDS: '0' });
    });
    afterAll(async () => strict?.close());

    it('a rotation write S3 applied but whose first answer was lost is the service\'s own retry, not reuse: 200, and the grant lives', async () => {
      const tokens = await tokensThroughOAuth(app.world, strict.url, 'strict-lost-once@example.com');
      const since = Date.now();
      app.s3.inject({ method: 'PUT', path: FAMILIES, fault: 'drop-answer' });
      const refreshed = await refreshGrant(strict.url, tokens.clientId, tokens.refresh_token as string);
      expect(app.s3.seen('PUT', FAMILIES).filter((r) => r.at >= since && r.fault === 'drop-answer' && r.forwarded)).toHaveLength(1);
      expect(refreshed).toMatchObject({ status: 200, body: { refresh_token: expect.any(String) } });
      expect((await getWithBearer(strict, '/auth/session', refreshed.body.access_token)).status).toBe(200);
      expect((await refreshGrant(strict.url, tokens.clientId, refreshed.body.refresh_token)).status).toBe(200);
    });

    it('a refresh whose session read S3 fails: 503 with Retry-After, and the retry with the same refresh token works (not taken for reuse)', async () => {
      // Since the token endpoint reads the family's session from S3 (1a9dbaa), that read can fail. It came after the
      // rotation was written, so the client, told 503, retried with a token already rotated away: past the grace
      // window (here none) that is reuse, the family was revoked and the client got invalid_grant for a good token.
      const tokens = await tokensThroughOAuth(app.world, strict.url, 'strict-session-read@example.com');
      app.s3.inject({ fault: 'answer', status: 503, times: Infinity, method: 'GET', path: SESSIONS });
      const res = await fetch(`${strict.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: tokens.clientId, refresh_token: tokens.refresh_token as string }),
      });
      app.s3.clear();
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toEqual(expect.stringMatching(/^\d+$/));
      const retry = await refreshGrant(strict.url, tokens.clientId, tokens.refresh_token as string);
      expect(retry).toMatchObject({ status: 200, body: { refresh_token: expect.any(String) } });
      expect((await getWithBearer(strict, '/auth/session', retry.body.access_token)).status).toBe(200);
      expect((await refreshGrant(strict.url, tokens.clientId, retry.body.refresh_token)).status).toBe(200);
    });

    it('a client presenting a rotated token again is still reuse: the family is revoked', async () => {
      const tokens = await tokensThroughOAuth(app.world, strict.url, 'strict-replay@example.com');
      const refreshed = await refreshGrant(strict.url, tokens.clientId, tokens.refresh_token as string);
      expect(refreshed.status).toBe(200);
      expect((await refreshGrant(strict.url, tokens.clientId, tokens.refresh_token as string)).status).toBe(400);
      expect((await refreshGrant(strict.url, tokens.clientId, refreshed.body.refresh_token)).status).toBe(400);
    });
  });
});
