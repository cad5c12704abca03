import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import { completeSignIn, getWithBearer, objectExists, readObject, signIn } from '../support/harness.js';

const GMAIL = '/v1/users/me/gmail/messages';

/** Another origin, as an attacker (or a misconfigured proxy) would send the service to: records what reaches it. */
class Elsewhere {
  readonly seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Elsewhere> {
    let self: Elsewhere | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        self?.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        // Answers as Google would, so that a client that follows the redirect also believes the answer.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'minted-elsewhere', expires_in: 3600, messages: [], resultSizeEstimate: 0 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self = new Elsewhere(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    return self;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/**
 * Google never redirects its API, token or revocation calls. A redirect there (a misconfigured egress proxy, a
 * hostile network) must not carry a user's access token, refresh token or the client secret to another origin, and
 * must not be believed: the service refuses to follow it, answers with a clear error, and loses nothing.
 */
describe('Google calls never follow a redirect', () => {
  const app = useAppBehindGoogleProxy((world, proxy) => ({ GOOGLE_USERINFO_URL: proxy.rewrite(world.google.urls.userinfo) }));
  let elsewhere: Elsewhere;

  beforeAll(async () => {
    elsewhere = await Elsewhere.start();
  });
  afterAll(async () => {
    await elsewhere?.stop();
  });

  it.each([302, 307, 308])('a Workspace API call redirected with %i: the access token stays home, the answer is a 502 that says why', async (status) => {
    const user = await signIn(app.sut, app.world, `api-${status}@example.com`);
    const before = elsewhere.seen.length;
    app.proxy.inject({ method: 'GET', path: '/gmail/v1/users/me/messages', fault: 'redirect', status, location: `${elsewhere.url}/gmail/v1/users/me/messages`, times: Infinity });
    const res = await getWithBearer(app.sut, GMAIL, user.access_token);
    expect(elsewhere.seen.slice(before)).toEqual([]);
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.message).toMatch(/Google/);
    expect(JSON.stringify(body)).not.toContain(elsewhere.url);
    app.proxy.clear();
    expect((await getWithBearer(app.sut, GMAIL, user.access_token)).status).toBe(200);
  });

  it('a token refresh redirected with 307: the refresh token and client secret stay home, nothing is lost', async () => {
    const email = 'refresh-redirect@example.com';
    const user = await signIn(app.sut, app.world, email);
    const stored = await readObject(app.world, `credentials/${email}.json`);
    app.world.google.expireAccessTokens(email);
    const before = elsewhere.seen.length;
    app.proxy.inject({ method: 'POST', path: '/token', fault: 'redirect', status: 307, location: `${elsewhere.url}/token`, times: Infinity });
    const res = await getWithBearer(app.sut, GMAIL, user.access_token);
    expect(elsewhere.seen.slice(before)).toEqual([]);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable' });
    // Nothing lost: the stored refresh token is the same, and once Google answers in place the refresh works.
    expect((await readObject(app.world, `credentials/${email}.json`)).json.refresh_token).toBe(stored.json.refresh_token);
    app.proxy.clear();
    expect((await getWithBearer(app.sut, GMAIL, user.access_token)).status).toBe(200);
    expect(app.world.google.refreshCount(email)).toBe(1);
  });

  it.each([302, 307])('the sign-in\'s code exchange redirected with %i: the code and client secret stay home, no user is stored', async (status) => {
    const email = `signin-redirect-${status}@example.com`;
    const before = elsewhere.seen.length;
    app.proxy.inject({ method: 'POST', path: '/token', fault: 'redirect', status, location: `${elsewhere.url}/token`, times: Infinity });
    const res = await completeSignIn(app.sut, app.world, email);
    expect(elsewhere.seen.slice(before)).toEqual([]);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable', message: expect.stringMatching(/Nothing was stored/) });
    expect(await objectExists(app.world, `credentials/${email}.json`)).toBe(false);
  });

  it('the sign-in\'s profile request redirected with 302: the new access token stays home, no user is stored', async () => {
    const email = 'userinfo-redirect@example.com';
    const before = elsewhere.seen.length;
    app.proxy.inject({ method: 'GET', path: '/v1/userinfo', fault: 'redirect', status: 302, location: `${elsewhere.url}/v1/userinfo`, times: Infinity });
    const res = await completeSignIn(app.sut, app.world, email);
    expect(elsewhere.seen.slice(before)).toEqual([]);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable', message: expect.stringMatching(/Nothing was stored/) });
    expect(await objectExists(app.world, `credentials/${email}.json`)).toBe(false);
  });

  it('no log line of these failures carries a Google token or the client secret', () => {
    const logs = app.world.logs.text;
    expect(logs).toMatch(/"status":502/); // the failures above were logged: the capture is not empty
    expect(logs).not.toMatch(/ya29\.a0|1\/\/0g|test-client-secret/);
  });

  it('a revocation redirected with 307: the token stays home, the revocation reports itself incomplete and can be finished', async () => {
    const user = await signIn(app.sut, app.world, 'revoke-redirect@example.com');
    const before = elsewhere.seen.length;
    app.proxy.inject({ method: 'POST', path: '/revoke', fault: 'redirect', status: 307, location: `${elsewhere.url}/revoke`, times: Infinity });
    const revoke = () => fetch(`${app.sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${user.access_token}` } });
    const res = await revoke();
    expect(elsewhere.seen.slice(before)).toEqual([]);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'revocation_incomplete' });
    app.proxy.clear();
    expect((await revoke()).status).toBe(200);
  });
});
