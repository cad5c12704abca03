import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { useAppBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { objectExists, readObject, signIn } from '../support/harness.js';
import { Browser } from '../support/http-client.js';
import { approvalKey, authorizeInBrowser, authorizeUrl, readConsentPage, refreshGrant } from '../support/oauth-consent.js';
import { OAuthTestClient, REDIRECT } from '../support/oauth-tokens.js';

const GMAIL_READ = 'https://www.googleapis.com/auth/gmail.readonly';
const sha256 = (v: string) => createHash('sha256').update(v).digest('base64url');

interface Granted {
  access_token: string;
  refresh_token: string;
}

/**
 * "Revoke this app": a person disconnects one OAuth client (say ChatGPT) and keeps another (Claude). The disconnected
 * client's access and refresh tokens stop working and it meets the consent page again; nothing else of the person
 * (other clients, browser sessions, the Google grant in S3) nor any other person's approval of that client changes.
 */
describe('GET /auth/clients and DELETE /auth/clients/{client_id}: disconnecting one OAuth client', () => {
  // A short session cache: "at once here" is checked on this replica, and S3 is what decides after it. S3 calls may
  // take 5 s: an exchange's family write is held that long at most while a disconnection runs.
  const app = useAppBehindS3Proxy({ S3_TIMEOUT_MS: '5000', SESSION_CACHE_TTL_MS: '200' });
  let n = 0;

  const bearer = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  const listClients = (token?: string) => fetch(`${app.sut.url}/auth/clients`, { headers: bearer(token) });
  const disconnect = (clientId: string, token?: string) => fetch(`${app.sut.url}/auth/clients/${encodeURIComponent(clientId)}`, { method: 'DELETE', headers: bearer(token) });
  const sessionStatus = async (token: string) => (await fetch(`${app.sut.url}/auth/session`, { headers: bearer(token) })).status;
  const listedIds = async (token: string) => {
    const res = await listClients(token);
    expect(res.status).toBe(200);
    return ((await res.json()) as { clients: Array<{ client_id: string }> }).clients.map((c) => c.client_id).sort();
  };

  function request(client: OAuthTestClient) {
    const verifier = randomBytes(32).toString('base64url');
    const url = authorizeUrl(app.sut.url, { client_id: client.clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: sha256(verifier), code_challenge_method: 'S256', scope: GMAIL_READ });
    return { verifier, url };
  }

  /** What the browser meets first for a new request of the client: our consent page, or straight on to Google. */
  async function firstStep(browser: Browser, client: OAuthTestClient): Promise<'consent page' | 'Google sign-in'> {
    const res = await browser.get(request(client).url, { accept: 'text/html' });
    if (res.status === 200 && readConsentPage(await res.text())) return 'consent page';
    const location = res.headers.get('location') ?? '';
    if (res.status === 302 && location.startsWith(`${app.sut.url}/auth/google?handoff=`)) return 'Google sign-in';
    throw new Error(`unexpected answer ${res.status} ${location}`);
  }

  /** The whole flow in the browser (Allow on a consent page), up to the code the client receives. */
  async function codeFor(browser: Browser, client: OAuthTestClient, email: string) {
    const { verifier, url } = request(client);
    const walked = await authorizeInBrowser(app.world, url, email, { browser });
    const code = walked.location?.searchParams.get('code');
    if (!code) throw new Error(`no code: ${walked.location} ${walked.stoppedAt?.status}`);
    return () => client.token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
  }

  async function authorize(browser: Browser, client: OAuthTestClient, email: string): Promise<Granted> {
    const tokens = await (await codeFor(browser, client, email))();
    expect(tokens.status).toBe(200);
    return tokens.json as unknown as Granted;
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const out = await app.world.admin.send(new ListObjectsV2Command({ Bucket: app.world.bucket, Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
  }

  /** Two clients of one person, another person also using the first, and the person's browser sign-in. */
  async function connected() {
    const email = `disconnect${++n}@example.com`;
    const other = `disconnect-other${n}@example.com`;
    const browser = new Browser();
    const [a, b] = [await OAuthTestClient.register(app.sut, app.world), await OAuthTestClient.register(app.sut, app.world)];
    const aTokens = await authorize(browser, a, email);
    const bTokens = await authorize(browser, b, email);
    const otherBrowser = new Browser();
    const otherA = await authorize(otherBrowser, a, other);
    const own = await signIn(app.sut, app.world, email);
    return { email, other, browser, otherBrowser, a, b, aTokens, bTokens, otherA, own };
  }

  it('disconnects A and keeps B, the browser sign-in, the Google grant and another user\'s approval of A; a repeat is 200', async () => {
    const { email, other, browser, otherBrowser, a, b, aTokens, bTokens, otherA, own } = await connected();
    expect(await listedIds(own.access_token)).toEqual([a.clientId, b.clientId].sort());
    const listed = (await (await listClients(own.access_token)).json()) as { clients: Array<Record<string, unknown>> };
    expect(listed.clients[0]).toMatchObject({ scopes: [GMAIL_READ], resources: ['/'], approved_at: expect.any(String) });
    // Before: A skips the page and its tokens work (the checks after the disconnection are not vacuous).
    expect(await firstStep(browser, a)).toBe('Google sign-in');
    expect(await sessionStatus(aTokens.access_token)).toBe(200);
    const credentialsBefore = (await readObject(app.world, `credentials/${email}.json`)).json;

    const res = await disconnect(a.clientId, own.access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ disconnected: true });

    expect(await sessionStatus(aTokens.access_token)).toBe(401); // at once, on this replica
    const refused = await refreshGrant(app.sut.url, a.clientId, aTokens.refresh_token);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
    expect(await firstStep(browser, a)).toBe('consent page');
    expect(await objectExists(app.world, approvalKey(email, a.clientId))).toBe(false);

    // Everything else stays: B, the browser sign-in, the Google grant, and the other user's approval and tokens of A.
    expect(await firstStep(browser, b)).toBe('Google sign-in');
    expect(await sessionStatus(bTokens.access_token)).toBe(200);
    const bRefreshed = await refreshGrant(app.sut.url, b.clientId, bTokens.refresh_token);
    expect(bRefreshed.status).toBe(200);
    expect(await sessionStatus(own.access_token)).toBe(200);
    expect((await readObject(app.world, `credentials/${email}.json`)).json).toEqual(credentialsBefore);
    expect(await objectExists(app.world, approvalKey(other, a.clientId))).toBe(true);
    expect(await firstStep(otherBrowser, a)).toBe('Google sign-in');
    expect(await sessionStatus(otherA.access_token)).toBe(200);
    expect((await refreshGrant(app.sut.url, a.clientId, otherA.refresh_token)).status).toBe(200);

    expect(await listedIds(own.access_token)).toEqual([b.clientId]);
    // The index that found A's grant is gone with it; B's stays.
    expect(await keysUnder(`oauth/client-families/${sha256(email)}/${sha256(a.clientId)}/`)).toEqual([]);
    expect(await keysUnder(`oauth/client-families/${sha256(email)}/${sha256(b.clientId)}/`)).toHaveLength(1);
    // Past the session cache: S3 says the same (another replica would, within SESSION_CACHE_TTL_MS).
    await new Promise((r) => setTimeout(r, 250));
    expect(await sessionStatus(aTokens.access_token)).toBe(401);

    // Again, and for a client this user never approved (a metadata document URL): 200, and nothing changes.
    for (const id of [a.clientId, 'https://apps.example.com/oauth/client.json']) {
      const again = await disconnect(id, own.access_token);
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ disconnected: true });
    }
    expect(await listedIds(own.access_token)).toEqual([b.clientId]);
    expect(await sessionStatus(bRefreshed.body.access_token)).toBe(200);
    expect(await objectExists(app.world, approvalKey(other, a.clientId))).toBe(true);
  });

  it('a client\'s own token is 403, no token or a forged one 401, and nothing changes', async () => {
    const { email, a, b, aTokens, own } = await connected();
    const approvals = await keysUnder(`oauth/approvals/${sha256(email)}/`);
    expect(approvals).toHaveLength(2);
    // The person's own token with another signature: what someone without the key can make.
    const forged = `${own.access_token.split('.').slice(0, 2).join('.')}.${randomBytes(32).toString('base64url')}`;
    for (const [token, status, error] of [[aTokens.access_token, 403, 'client_token_not_allowed'], [undefined, 401, 'missing_token'], [forged, 401, 'invalid_token']] as const) {
      for (const res of [await listClients(token), await disconnect(b.clientId, token)]) {
        expect(res.status).toBe(status);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ statusCode: status, error });
        expect(JSON.stringify(body)).not.toContain(aTokens.access_token);
      }
    }
    expect(await keysUnder(`oauth/approvals/${sha256(email)}/`)).toEqual(approvals);
    expect(await sessionStatus(aTokens.access_token)).toBe(200);
    expect((await refreshGrant(app.sut.url, a.clientId, aTokens.refresh_token)).status).toBe(200);
  });

  it('/auth/revoke also deletes the index of the user\'s client grants, and leaves another user\'s', async () => {
    const { email, other, own } = await connected();
    expect(await keysUnder(`oauth/client-families/${sha256(email)}/`)).toHaveLength(2);
    const revoked = await fetch(`${app.sut.url}/auth/revoke`, { method: 'POST', headers: bearer(own.access_token) });
    expect(revoked.status).toBe(200);
    expect(await keysUnder(`oauth/client-families/${sha256(email)}/`)).toEqual([]);
    expect(await keysUnder(`oauth/client-families/${sha256(other)}/`)).toHaveLength(1);
  });

  it('a code the client held while being disconnected issues nothing afterwards', async () => {
    const { browser, a, own } = await connected();
    const exchange = await codeFor(browser, a, `disconnect${n}@example.com`);
    expect((await disconnect(a.clientId, own.access_token)).status).toBe(200);
    const refused = await exchange();
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('disconnected this application') });
    expect(await listedIds(own.access_token)).not.toContain(a.clientId);
    // Connecting again afterwards works, through the consent page.
    expect(await firstStep(browser, a)).toBe('consent page');
    const again = await authorize(browser, a, `disconnect${n}@example.com`);
    expect(await sessionStatus(again.access_token)).toBe(200);
  });

  it('an exchange under way when the client is disconnected (its family not yet written) issues nothing', async () => {
    const { browser, a, own } = await connected();
    const exchange = await codeFor(browser, a, `disconnect${n}@example.com`);
    // The exchange has listed its grant and waits on its family's create-only write.
    const held = app.s3.holdNext({ method: 'PUT', path: `/${app.world.bucket}/oauth/refresh/` });
    const answer = exchange();
    await held.arrived;
    expect((await disconnect(a.clientId, own.access_token)).status).toBe(200);
    await held.release();
    const refused = await answer;
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: 'invalid_grant' });
  });

  it('S3 failing part-way -> 503 with Retry-After; the same request then finishes it', async () => {
    const { browser, a, b, aTokens, bTokens, own } = await connected();
    // Every write of a refresh family fails: the approval is gone, the family and its session are not yet.
    const handle = app.s3.inject({ method: 'PUT', path: `/${app.world.bucket}/oauth/refresh/`, fault: 'reset', times: Infinity });
    const failed = await disconnect(a.clientId, own.access_token);
    handle.remove();
    expect(handle.hits).toBeGreaterThan(0);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await failed.json()).toMatchObject({ statusCode: 503 });

    const retried = await disconnect(a.clientId, own.access_token);
    expect(retried.status).toBe(200);
    expect(await sessionStatus(aTokens.access_token)).toBe(401);
    expect((await refreshGrant(app.sut.url, a.clientId, aTokens.refresh_token)).body.error).toBe('invalid_grant');
    expect(await firstStep(browser, a)).toBe('consent page');
    expect(await sessionStatus(bTokens.access_token)).toBe(200);
    expect(await firstStep(browser, b)).toBe('Google sign-in');
  });
});
