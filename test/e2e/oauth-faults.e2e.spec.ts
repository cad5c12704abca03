import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { refreshGrant, tokensThroughOAuth } from '../support/oauth-consent.js';
import { getWithBearer } from '../support/harness.js';

const S3_TIMEOUT_MS = 1500;
const CLIENTS = /\/oauth\/clients\/wsb_[A-Za-z0-9_-]{22}\.json$/;
const FAMILIES = /\/oauth\/refresh\//;
const APPROVALS = /\/oauth\/approvals\//;

/**
 * The OAuth authorization server's create-only S3 writes (client registration, the refresh token family started by
 * a code exchange, the first approval of a client) when S3 applied the write but its answer was lost: the SDK's retry
 * meets the object its first attempt wrote, and that must read as success, not as a 409 "someone else holds it".
 */
describe('OAuth writes whose S3 answer was lost', () => {
  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) });

  /** The writes to `path` since `since` whose answer the proxy dropped after S3 applied them. */
  function lostAnswers(path: RegExp, since: number) {
    return app.s3.seen('PUT', path).filter((r) => r.at >= since && r.fault === 'drop-answer' && r.forwarded);
  }

  /** The answers a client may get after a lost S3 answer: success, or a retryable 503; never a 409 or a 500. */
  function expectSuccessOrRetryable(status: number, body: unknown, success: number): void {
    if (status === success) return;
    expect({ status, body }).toMatchObject({ status: 503, body: { statusCode: 503, message: expect.stringMatching(/S3/) } });
  }

  it('registers a client whose registration write was applied but its answer lost, and the client works', async () => {
    const since = Date.now();
    app.s3.inject({ method: 'PUT', path: CLIENTS, fault: 'drop-answer' });
    const res = await fetch(`${app.sut.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:8765/callback'], token_endpoint_auth_method: 'none', client_name: 'lost answer app' }),
    });
    const body = (await res.json()) as { client_id?: string };
    expect(lostAnswers(CLIENTS, since)).toHaveLength(1);
    expect(res.status).toBe(201); // the SDK's retry met its own object: the same content, so the create succeeded
    // The registered client is usable: its authorization request is shown a consent page, not "unknown client".
    const authorize = await fetch(
      `${app.sut.url}/oauth/authorize?${new URLSearchParams({ client_id: body.client_id ?? '', redirect_uri: 'http://127.0.0.1:8765/callback', response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
      { redirect: 'manual', headers: { accept: 'text/html' } },
    );
    expect(authorize.status).toBeLessThan(400);
  });

  it('never answers 409 or 500 when every attempt of the registration write lost its answer', async () => {
    app.s3.inject({ method: 'PUT', path: CLIENTS, fault: 'drop-answer', times: Infinity });
    const res = await fetch(`${app.sut.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:8765/callback'], token_endpoint_auth_method: 'none' }),
    });
    expectSuccessOrRetryable(res.status, await res.json(), 201);
  });

  it('completes a code exchange whose refresh token family write was applied but its answer lost; the refresh token works', async () => {
    const since = Date.now();
    app.s3.inject({ method: 'PUT', path: FAMILIES, fault: 'drop-answer' });
    const tokens = await tokensThroughOAuth(app.world, app.sut.url, 'lost-family@example.com');
    expect(lostAnswers(FAMILIES, since)).toHaveLength(1);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect((await getWithBearer(app.sut, '/auth/session', tokens.access_token)).status).toBe(200);
    const refreshed = await refreshGrant(app.sut.url, tokens.clientId, tokens.refresh_token as string);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toEqual(expect.any(String));
  });

  it('rotates a refresh token whose rotation write was applied but its answer lost (the retry is recognised)', async () => {
    const tokens = await tokensThroughOAuth(app.world, app.sut.url, 'lost-rotation@example.com');
    const since = Date.now();
    app.s3.inject({ method: 'PUT', path: FAMILIES, fault: 'drop-answer' });
    const refreshed = await refreshGrant(app.sut.url, tokens.clientId, tokens.refresh_token as string);
    expect(lostAnswers(FAMILIES, since)).toHaveLength(1);
    expect(refreshed.status).toBe(200);
    const again = await refreshGrant(app.sut.url, tokens.clientId, refreshed.body.refresh_token);
    expect(again.status).toBe(200);
  });

  it('records a first approval whose write was applied but its answer lost, and the flow ends with tokens', async () => {
    const since = Date.now();
    app.s3.inject({ method: 'PUT', path: APPROVALS, fault: 'drop-answer' });
    const tokens = await tokensThroughOAuth(app.world, app.sut.url, 'lost-approval@example.com');
    expect(lostAnswers(APPROVALS, since)).toHaveLength(1);
    expect(tokens.access_token).toEqual(expect.any(String));
  });
});
