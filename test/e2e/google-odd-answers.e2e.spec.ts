import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import { getWithBearer, objectExists, readObject, signIn } from '../support/harness.js';

/** What answers 200 in Google's place: a captive portal's page, a proxy's empty answer, JSON that is not an object. */
const ODD_ANSWERS: Array<[what: string, contentType: string, body: string]> = [
  ['an HTML page', 'text/html', '<html><body>Sign in to the guest network</body></html>'],
  ['an empty body', 'application/json', ''],
  ['JSON null', 'application/json', 'null'],
  ['a JSON string', 'application/json', '"ok"'],
  ['a JSON array', 'application/json', '[]'],
];

/**
 * Something between the service and Google (a captive portal, a misconfigured egress proxy) that answers 200 with
 * anything but Google's JSON must not be taken for Google's data: not an empty mailbox shown as a success, not a
 * TypeError answered 500. Every Workspace read route answers 502 google_unavailable at once (no retries: the answer
 * was not a 5xx), and works again once Google answers.
 */
describe('Google answering 200 with something other than its JSON', () => {
  const app = useAppBehindGoogleProxy({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES });
  let token: string;
  let routes: string[];

  beforeAll(async () => {
    token = (await signIn(app.sut, app.world, 'odd-answers@example.com')).access_token;
    const doc = (await (await fetch(`${app.sut.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const query = (path: string) => (path.endsWith('/batch') ? '?ids=abc123' : path.endsWith('/values') ? '?range=A1' : path.endsWith('/contacts') ? '?q=ann' : '');
    routes = Object.entries(doc.paths)
      .filter(([path, methods]) => path.startsWith('/v1/users/') && 'get' in methods)
      .map(([path]) => path.replace(/\{(\w+)\}/g, (_x, name: string) => (name === 'userId' ? 'me' : 'abc123')) + query(path));
  });

  it('covers every Workspace read route of the OpenAPI document', () => {
    expect(routes.length).toBeGreaterThanOrEqual(20);
  });

  it.each(ODD_ANSWERS)('%s: every read route answers 502 google_unavailable, without retrying', async (_what, contentType, body) => {
    for (const path of routes) {
      app.proxy.inject({ fault: 'answer', status: 200, contentType, body, times: Infinity });
      const since = app.proxy.seen('GET', /./).length;
      const res = await getWithBearer(app.sut, path, token);
      app.proxy.clear();
      expect([path, res.status]).toEqual([path, 502]);
      expect(await res.json()).toMatchObject({ error: 'google_unavailable', message: expect.stringMatching(/not its API's JSON/) });
      // One Google call per route (two where a route reads metadata first): a 200 is not retried like a 5xx.
      const calls = app.proxy.seen('GET', /./).length - since;
      expect([path, calls >= 1 && calls <= 2]).toEqual([path, true]);
    }
  });

  it('a token refresh answered with a page: 502, and the stored refresh token is kept', async () => {
    const email = 'odd-refresh@example.com';
    const user = await signIn(app.sut, app.world, email);
    const stored = await readObject(app.world, `credentials/${email}.json`);
    app.world.google.expireAccessTokens(email);
    app.proxy.inject({ method: 'POST', path: '/token', fault: 'answer', status: 200, contentType: 'text/html', body: ODD_ANSWERS[0][2], times: Infinity });
    const res = await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable' });
    expect((await readObject(app.world, `credentials/${email}.json`)).json.refresh_token).toBe(stored.json.refresh_token);
    app.proxy.clear();
    expect((await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token)).status).toBe(200);
  });

  it('a revocation answered with a page is not taken for Google\'s confirmation: the credentials stay until Google confirms', async () => {
    const email = 'odd-revoke@example.com';
    const user = await signIn(app.sut, app.world, email);
    const revoke = () => fetch(`${app.sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${user.access_token}` } });
    app.proxy.inject({ method: 'POST', path: '/revoke', fault: 'answer', status: 200, contentType: 'text/html', body: ODD_ANSWERS[0][2], times: Infinity });
    const res = await revoke();
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'revocation_incomplete' });
    expect(await objectExists(app.world, `credentials/${email}.json`)).toBe(true);
    app.proxy.clear();
    expect((await revoke()).status).toBe(200);
    expect(await objectExists(app.world, `credentials/${email}.json`)).toBe(false);
  });

  it('no log line of these failures carries a Google token or the client secret', () => {
    const logs = app.world.logs.text;
    expect(logs).toMatch(/"status":502/); // the failures above were logged: the capture is not empty
    expect(logs).not.toMatch(/ya29\.a0|1\/\/0g|test-client-secret/);
  });

  it('once Google answers again, the same routes work', async () => {
    const res = await getWithBearer(app.sut, '/v1/users/me/gmail/messages', token);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { messages: unknown[] }).messages.length).toBeGreaterThan(0);
  });
});
