import { SignJWT } from 'jose';
import { apiClient, startSignedIn } from '../support/api-client.js';
import { JWT_SECRET, Service, stopAll, World } from '../support/harness.js';

const USER = 'errors-user@example.com';
const G = 'https://www.googleapis.com/auth/';
// Google's own wording, which must never reach a caller.
const GOOGLE_TEXT = /insufficient authentication scopes|Quota exceeded|Requested entity|currently unavailable|invalid authentication credentials/;

describe('Workspace: Google\'s errors, mapped on every API', () => {
  let world: World;
  let sut: Service;
  let call: ReturnType<typeof apiClient>;
  let token: string;
  /** One read route per API, with the scope its 403 should name. */
  let routes: Array<[api: string, path: string, scope: string]>;

  beforeAll(async () => {
    ({ world, sut, call, token } = await startSignedIn(USER, { GOOGLE_HTTP_TIMEOUT_MS: '2000' })); // the hanging call below waits it out
    const drive = world.google.itemIds('drive', USER);
    routes = [
      ['gmail', `/v1/users/me/gmail/messages/${world.google.messageIds(USER)[0]}`, `${G}gmail.readonly`],
      ['drive', `/v1/users/me/drive/files/${drive[1]}`, `${G}drive.readonly`],
      ['calendar', `/v1/users/me/calendar/events/${world.google.itemIds('calendar', USER)[0]}`, `${G}calendar.readonly`],
      ['docs', `/v1/users/me/docs/documents/${drive[0]}/text`, `${G}documents.readonly`],
      ['sheets', `/v1/users/me/sheets/spreadsheets/${drive[3]}/values?range=Sheet1`, `${G}spreadsheets.readonly`],
      ['tasks', '/v1/users/me/tasks/lists', `${G}tasks.readonly`],
      ['contacts', `/v1/users/me/contacts/${world.google.contactIds(USER)[0]}`, `${G}contacts.readonly`],
    ];
  });
  afterAll(() => stopAll(world, sut));

  const callsOf = () => world.google.apiCalls.filter((c) => c.email === USER).length;

  it('every route works as the baseline for the error cases', async () => {
    for (const [, path] of routes) expect([path, (await call('GET', path)).status]).toEqual([path, 200]);
  });

  it('another user\'s email in the path is 403 on every API, and nothing reaches Google', async () => {
    const before = world.google.apiCalls.length;
    for (const [, path] of routes) {
      const res = await call('GET', path.replace('/users/me/', '/users/victim@example.com/'));
      expect([path, res.status, res.json.error]).toEqual([path, 403, 'forbidden_user']);
    }
    expect(world.google.apiCalls.length).toBe(before);
    expect(world.logs.lines.some((l) => l.text.includes('SECURITY VIOLATION'))).toBe(true);
  });

  it('every Workspace route in the OpenAPI document refuses a missing, forged or expired bearer, before Google', async () => {
    const doc = (await (await fetch(`${sut.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/users/'))
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => [m.toUpperCase(), path.replace(/\{(\w+)\}/g, (_x, name: string) => (name === 'userId' ? 'me' : 'abc123'))]));
    expect(routes.length).toBeGreaterThanOrEqual(35);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 7200, exp: now - 3600 }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(JWT_SECRET));
    const before = world.google.apiCalls.length;
    for (const [method, path] of routes) {
      for (const bearer of [undefined, `${token.slice(0, -4)}AAAA`, expired]) {
        const res = await fetch(`${sut.url}${path}`, { method, headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
        expect([method, path, res.status]).toEqual([method, path, 401]);
      }
    }
    expect(world.google.apiCalls.length).toBe(before);
  });

  it('Google\'s insufficientPermissions is a 403 naming the scope to grant and how', async () => {
    for (const [, path, scope] of routes) {
      world.google.failNext('api', 'insufficient_permissions');
      const res = await call('GET', path);
      expect([path, res.status, res.json.error, res.json.scope]).toEqual([path, 403, 'insufficient_scope', scope]);
      expect(res.json.message).toContain('sign in again at /auth/google');
      expect(JSON.stringify(res.json)).not.toMatch(GOOGLE_TEXT);
    }
  });

  it('Google\'s 404 is a 404', async () => {
    for (const [, path] of routes) {
      world.google.failNext('api', 'not_found');
      const res = await call('GET', path);
      expect([path, res.status, res.json.error]).toEqual([path, 404, 'not_found']);
      expect(JSON.stringify(res.json)).not.toMatch(GOOGLE_TEXT);
    }
  });

  it('Google\'s rate limit is a 429 with Google\'s Retry-After, not retried', async () => {
    for (const [, path] of routes) {
      const before = callsOf();
      world.google.failNext('api', 'rate_limit');
      const res = await call('GET', path);
      expect([path, res.status, res.json.error, res.headers.get('retry-after')]).toEqual([path, 429, 'rate_limited', '7']);
      expect(callsOf() - before).toBe(1);
    }
  });

  it('a 5xx is retried with backoff: one failure is invisible, three are a 502 after three attempts', async () => {
    for (const [, path] of routes) {
      let before = callsOf();
      world.google.failNext('api', 'server_error');
      expect([path, (await call('GET', path)).status]).toEqual([path, 200]);
      expect(callsOf() - before).toBe(2);

      before = callsOf();
      for (let i = 0; i < 3; i++) world.google.failNext('api', 'server_error');
      const res = await call('GET', path);
      expect([path, res.status, res.json.error]).toEqual([path, 502, 'google_unavailable']);
      expect(callsOf() - before).toBe(3);
      expect(JSON.stringify(res.json)).not.toMatch(GOOGLE_TEXT);
    }
  });

  it('a 401 that survives a token refresh is 401 reauth_required; the refresh happened and the grant is kept', async () => {
    for (const [, path] of routes) {
      const refreshes = world.google.refreshCount(USER);
      world.google.failNext('api', 'invalid_grant');
      world.google.failNext('api', 'invalid_grant');
      const res = await call('GET', path);
      expect([path, res.status, res.json.error]).toEqual([path, 401, 'reauth_required']);
      expect(world.google.refreshCount(USER)).toBe(refreshes + 1);
      // Google's API said 401, not the token endpoint: the stored grant still works for the next call.
      expect((await call('GET', path)).status).toBe(200);
    }
  });

  it('a 401 answered by a refresh is invisible to the caller', async () => {
    const [, path] = routes[4];
    const refreshes = world.google.refreshCount(USER);
    world.google.failNext('api', 'invalid_grant');
    expect((await call('GET', path)).status).toBe(200);
    expect(world.google.refreshCount(USER)).toBe(refreshes + 1);
  });

  it('a Google call that hangs is cut off at GOOGLE_HTTP_TIMEOUT_MS and answered 502, not retried', async () => {
    const [, path] = routes[5];
    const before = callsOf();
    world.google.failNext('api', 'timeout');
    const started = Date.now();
    const res = await call('GET', path);
    expect(res.status).toBe(502);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(callsOf() - before).toBe(1);
  });
});
