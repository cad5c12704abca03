import { Service, startService, startWorld, World } from '../support/harness.js';

const LIMIT = 3;
const WINDOW_SECONDS = 60;

/** Per-IP rate limits on registration, token, authorize, the Google callback, revocation and introspection (RATE_LIMIT_* settings). */
describe('Rate limits', () => {
  let world: World;
  let sut: Service;
  let behindProxy: Service;

  beforeAll(async () => {
    world = await startWorld();
    const low = `${LIMIT}/${WINDOW_SECONDS}`;
    const limits = { RATE_LIMIT_REGISTER: low, RATE_LIMIT_TOKEN: low, RATE_LIMIT_AUTHORIZE: low, RATE_LIMIT_GOOGLE_CALLBACK: low, RATE_LIMIT_REVOKE: low, RATE_LIMIT_INTROSPECT: low };
    sut = await startService(world, limits);
    behindProxy = await startService(world, { ...limits, TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await sut?.close();
    await behindProxy?.close();
    await world?.close();
  });

  const register = (service: Service, headers: Record<string, string> = {}) =>
    fetch(`${service.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:8765/callback'], token_endpoint_auth_method: 'none', client_name: 'limited' }),
    });

  /**
   * Asserts the service's 429: JSON error with guidance, a Retry-After within the window, the usual headers. At the
   * OAuth endpoints their clients read (token, revocation, introspection, registration) it is also RFC 6749's shape,
   * `temporarily_unavailable`: the MCP SDK reads a code it does not know as server_error and answers a refused refresh
   * with a new authorization in the person's browser.
   */
  async function expectThrottled(res: Response, oauth: boolean): Promise<void> {
    expect(res.status).toBe(429);
    // An operator finds the refused request in the log by its id; the security headers are on every answer.
    expect(res.headers.get('x-request-id')).toMatch(/\S/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const message = expect.stringMatching(/Retry after \d+ s/);
    if (oauth) expect(await res.json()).toEqual({ statusCode: 429, error: 'temporarily_unavailable', error_description: message, reason: 'too_many_requests', message });
    else expect(await res.json()).toEqual({ statusCode: 429, error: 'too_many_requests', message });
  }

  it('lets LIMIT registrations from one address through, then answers 429 with Retry-After', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await register(sut)).status).toBe(201);
    await expectThrottled(await register(sut), true);
  });

  it('cannot be dodged with a forged X-Forwarded-For when no proxy is trusted', async () => {
    // The budget of 127.0.0.1 is spent (previous test); a new X-Forwarded-For each time changes nothing.
    await expectThrottled(await register(sut, { 'x-forwarded-for': '198.51.100.23' }), true);
    await expectThrottled(await register(sut, { 'x-forwarded-for': '198.51.100.24' }), true);
  });

  it('counts each client behind a trusted proxy on its own', async () => {
    const alice = { 'x-forwarded-for': '198.51.100.1' };
    const bob = { 'x-forwarded-for': '198.51.100.2' };
    for (let i = 0; i < LIMIT; i++) expect((await register(behindProxy, alice)).status).toBe(201);
    await expectThrottled(await register(behindProxy, alice), true);
    expect((await register(behindProxy, bob)).status).toBe(201);
  });

  it('counts one IPv6 /64 as one client: fresh addresses from it do not buy fresh budgets', async () => {
    // One customer routinely holds a whole /64; a new address per request must not mean unbounded registrations
    // (@fastify/rate-limit's default key is the /64 of an IPv6 address; this pins it).
    for (let i = 1; i <= LIMIT; i++) expect((await register(behindProxy, { 'x-forwarded-for': `2001:db8:aa:bb::${i}` })).status).toBe(201);
    await expectThrottled(await register(behindProxy, { 'x-forwarded-for': '2001:db8:aa:bb::99' }), true);
    await expectThrottled(await register(behindProxy, { 'x-forwarded-for': '2001:db8:aa:bb:1234:5678:9abc:def0' }), true);
    expect((await register(behindProxy, { 'x-forwarded-for': '2001:db8:aa:bc::1' })).status).toBe(201); // another /64
  });

  it.each([
    ['POST /oauth/token', true, (s: Service) => fetch(`${s.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code&code=nope' })],
    ['GET /oauth/authorize', false, (s: Service) => fetch(`${s.url}/oauth/authorize?client_id=nobody&response_type=code`, { redirect: 'manual' })],
    ['GET /auth/google/callback', false, (s: Service) => fetch(`${s.url}/auth/google/callback?code=nope&state=nope`, { redirect: 'manual' })],
    ['POST /auth/revoke', false, (s: Service) => fetch(`${s.url}/auth/revoke`, { method: 'POST', headers: { authorization: 'Bearer not-a-token' } })],
    ['POST /oauth/revoke', true, (s: Service) => fetch(`${s.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=nope&client_id=nobody' })],
    ['POST /oauth/introspect', true, (s: Service) => fetch(`${s.url}/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=nope&client_id=nobody&client_secret=nope' })],
  ])('limits %s on its own budget (OAuth error shape: %s)', async (_route, oauth, call) => {
    for (let i = 0; i < LIMIT; i++) {
      const res = await call(sut);
      expect(res.status).not.toBe(429);
      expect(res.status).toBeLessThan(500);
    }
    await expectThrottled(await call(sut), oauth);
  });

  it.each([
    ['GET /oauth/authorize', '/oauth/authorize?client_id=nobody&response_type=code', '198.51.100.31'],
    ['GET /auth/google/callback', '/auth/google/callback?code=nope&state=nope', '198.51.100.32'],
  ])('%s: a HEAD request runs the same handler, so it spends the same budget and is refused past it', async (_route, path, address) => {
    // Fastify answers HEAD on every GET route by running the GET handler (a callback exchanges its code at Google
    // and writes to S3 whatever the method). A HEAD outside the budget let one address call them without limit.
    const call = (method: 'GET' | 'HEAD') => fetch(`${behindProxy.url}${path}`, { method, redirect: 'manual', headers: { 'x-forwarded-for': address } });
    for (let i = 0; i < LIMIT; i++) expect((await call(i % 2 ? 'GET' : 'HEAD')).status).toBe(400);
    for (const method of ['HEAD', 'GET'] as const) {
      const refused = await call(method);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  it("a refresh the token endpoint's limit refuses: an MCP SDK 1.x client reads temporarily_unavailable, not a reason to start a new authorization", async () => {
    // The SDK's auth() answers a refresh failing with ServerError (what it makes of a code it does not know, such as
    // too_many_requests) with a new authorization in the person's browser; any other OAuth error it reports, keeping
    // its tokens for the next attempt.
    const { refreshAuthorization } = await import('@modelcontextprotocol/sdk/client/auth.js');
    const { ServerError, TemporarilyUnavailableError } = await import('@modelcontextprotocol/sdk/server/auth/errors.js');
    const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=x&client_id=nobody' };
    for (let i = 0; i < LIMIT; i++) await (await fetch(`${sut.url}/oauth/token`, form)).arrayBuffer(); // this address's budget, spent
    const metadata = (await (await fetch(`${sut.url}/.well-known/oauth-authorization-server`)).json()) as Parameters<typeof refreshAuthorization>[1]['metadata'];
    const failure = await refreshAuthorization(new URL(sut.url), { metadata, clientInformation: { client_id: 'nobody' }, refreshToken: 'x' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(TemporarilyUnavailableError);
    expect(failure).not.toBeInstanceOf(ServerError);
    expect((failure as Error).message).toMatch(/Too many token requests .* Retry after \d+ s/);
  });

  it('leaves other routes alone', async () => {
    for (let i = 0; i < 3 * LIMIT; i++) {
      expect((await fetch(`${sut.url}/health/live`)).status).toBe(200);
      expect((await fetch(`${sut.url}/auth/google`, { redirect: 'manual' })).status).toBe(302);
    }
  });

  it('refuses a RATE_LIMIT_* it cannot read, naming the variable', async () => {
    await expect(startService(world, { RATE_LIMIT_TOKEN: 'lots' })).rejects.toThrow(/RATE_LIMIT_TOKEN/);
  });
});
