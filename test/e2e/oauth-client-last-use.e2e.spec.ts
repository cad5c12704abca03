import { PutObjectCommand } from '@aws-sdk/client-s3';
import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { authorizeUrl, pkceRequest, refreshGrant, tokensThroughOAuth } from '../support/oauth-consent.js';
import { readObject } from '../support/harness.js';

const S3_TIMEOUT_MS = 3000;
/** What a refresh may take with the client's "last used" write stalled: far below S3_TIMEOUT_MS. */
const BOUND_MS = 1000;
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';

/**
 * A registered client's once-a-day "last used" write (OAuthClientRepository.recordUse) with S3 stalling that one
 * object: the token endpoint and the authorize page answer without waiting for it, at most one such write per client
 * is under way, its failure is logged without secrets, and the next use after S3 recovers records it.
 */
describe('OAuth client "last used" write: never on the request\'s path', () => {
  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) });

  const clientKey = (clientId: string) => `oauth/clients/${clientId}.json`;
  const clientPath = (clientId: string) => new RegExp(`/oauth/clients/${clientId}\\.json$`);

  /** Makes the client's last recorded use two days old, straight in S3, so its next use writes the object. */
  async function lastUsedTwoDaysAgo(clientId: string): Promise<void> {
    const { json } = await readObject(app.world, clientKey(clientId));
    const past = new Date(Date.now() - 2 * 24 * 3600 * 1000).toISOString();
    await app.world.admin.send(new PutObjectCommand({ Bucket: app.world.bucket, Key: clientKey(clientId), Body: JSON.stringify({ ...json, lastUsedAt: past }), ContentType: 'application/json' }));
  }

  async function until(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return check();
  }

  it('a refresh while the client\'s "last used" write stalls answers within a small bound, starts one write only, and logs its failure without secrets', async () => {
    const tokens = await tokensThroughOAuth(app.world, app.sut.url, 'last-use-refresh@example.com');
    await lastUsedTwoDaysAgo(tokens.clientId);
    const since = Date.now();
    app.s3.inject({ method: 'PUT', path: clientPath(tokens.clientId), fault: 'stall', times: Infinity });

    const started = Date.now();
    const refreshed = await refreshGrant(app.sut.url, tokens.clientId, tokens.refresh_token as string);
    const elapsed = Date.now() - started;
    expect(refreshed).toMatchObject({ status: 200, body: { access_token: expect.any(String), refresh_token: expect.any(String) } });
    expect(elapsed).toBeLessThan(BOUND_MS);
    // The write was started (the stall is what the refresh did not wait for).
    expect(app.s3.seen('PUT', clientPath(tokens.clientId)).filter((r) => r.at >= since)).toHaveLength(1);

    // Another refresh meanwhile neither waits nor piles a second write on the stalled one.
    const again = Date.now();
    const second = await refreshGrant(app.sut.url, tokens.clientId, refreshed.body.refresh_token);
    expect(second.status).toBe(200);
    expect(Date.now() - again).toBeLessThan(BOUND_MS);
    expect(app.s3.seen('PUT', clientPath(tokens.clientId)).filter((r) => r.at >= since)).toHaveLength(1);

    // The stalled write ends at S3_TIMEOUT_MS and is logged: which client, why, and no token or secret.
    const logged = () => app.world.logs.events('oauth client last use not recorded; the next use records it').filter((e) => e.clientId === tokens.clientId);
    expect(await until(() => logged().length > 0, S3_TIMEOUT_MS + 3000)).toBe(true);
    expect(logged()[0]).toMatchObject({ event: 'client_last_use_unrecorded', reason: expect.any(String) });
    const text = JSON.stringify(logged());
    for (const secret of [tokens.access_token, tokens.refresh_token as string, refreshed.body.refresh_token, second.body.refresh_token]) expect(text).not.toContain(secret);
    expect(text).not.toContain('secretHash');

    // S3 answers again: the next use records the date.
    app.s3.clear();
    expect((await refreshGrant(app.sut.url, tokens.clientId, second.body.refresh_token)).status).toBe(200);
    const recent = async () => Date.now() - Date.parse((await readObject(app.world, clientKey(tokens.clientId))).json.lastUsedAt as string) < 60_000;
    expect(await until(recent, 3000)).toBe(true);
  });

  it('the authorize page is not held back by the stalled write either', async () => {
    const tokens = await tokensThroughOAuth(app.world, app.sut.url, 'last-use-authorize@example.com');
    await lastUsedTwoDaysAgo(tokens.clientId);
    app.s3.inject({ method: 'PUT', path: clientPath(tokens.clientId), fault: 'stall', times: Infinity });
    const started = Date.now();
    const res = await fetch(authorizeUrl(app.sut.url, (await pkceRequest(tokens.clientId, REDIRECT_URI)).params), { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(res.status).toBe(200); // the consent page
    expect(Date.now() - started).toBeLessThan(BOUND_MS);
  });
});
