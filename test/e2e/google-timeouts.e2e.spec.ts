import { FaultProxy, type ProxiedRequest } from '../support/fault-proxy.js';
import { googleThrough, getWithBearer, type Service, signIn, startService, startWorld, type World } from '../support/harness.js';

const GOOGLE_HTTP_TIMEOUT_MS = 1000;
const MARGIN_MS = 1500;

/**
 * Google calls are really cancelled on timeout: the proxy in front of the emulator stalls one endpoint and sees the
 * service close the connection once GOOGLE_HTTP_TIMEOUT_MS has passed (not merely stop waiting for it).
 */
describe('Google calls that hang are cancelled (the socket is closed) after GOOGLE_HTTP_TIMEOUT_MS', () => {
  let world: World;
  let proxy: FaultProxy;
  let sut: Service;

  beforeAll(async () => {
    world = await startWorld();
    proxy = await FaultProxy.start(world.google.baseUrl);
    sut = await startService(world, {
      ...googleThrough(world, proxy),
      GOOGLE_HTTP_TIMEOUT_MS: String(GOOGLE_HTTP_TIMEOUT_MS),
    });
  });
  afterEach(() => proxy.clear());
  afterAll(async () => {
    await sut?.close();
    await proxy?.stop();
    await world?.close();
  });

  /** Waits until every request matching has been given up by the service, and returns them. */
  async function closedByService(method: string, path: string | RegExp, since: number): Promise<ProxiedRequest[]> {
    for (let i = 0; i < 40; i++) {
      const seen = proxy.seen(method, path).filter((r) => r.at >= since);
      if (seen.length > 0 && seen.every((r) => r.clientClosedAt !== undefined)) return seen;
      await new Promise((r) => setTimeout(r, 100));
    }
    return proxy.seen(method, path).filter((r) => r.at >= since);
  }

  function expectCancelledInTime(seen: ProxiedRequest[]): void {
    expect(seen.length).toBeGreaterThan(0);
    for (const r of seen) {
      expect(r.fault).toBe('stall');
      expect(r.clientClosedAt).toBeDefined();
      const heldMs = (r.clientClosedAt as number) - r.at;
      expect(heldMs).toBeGreaterThanOrEqual(GOOGLE_HTTP_TIMEOUT_MS - 100);
      expect(heldMs).toBeLessThan(GOOGLE_HTTP_TIMEOUT_MS + MARGIN_MS);
    }
  }

  it('a Workspace API call (googleapis)', async () => {
    const user = await signIn(sut, world, 'api@example.com');
    const since = Date.now();
    proxy.inject({ method: 'GET', path: '/drive/v3/files', fault: 'stall', times: Infinity });
    const res = await getWithBearer(sut, '/v1/users/me/drive/files', user.access_token);
    expect(res.status).toBeGreaterThanOrEqual(502);
    expect(await res.json()).toMatchObject({ message: expect.stringMatching(/Google/) });
    expectCancelledInTime(await closedByService('GET', '/drive/v3/files', since));
  });

  it('a token refresh', async () => {
    const user = await signIn(sut, world, 'refresh@example.com');
    world.google.expireAccessTokens('refresh@example.com');
    const since = Date.now();
    proxy.inject({ method: 'POST', path: '/token', fault: 'stall', times: Infinity });
    const res = await getWithBearer(sut, '/v1/users/me/drive/files', user.access_token);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable' });
    expectCancelledInTime(await closedByService('POST', '/token', since));
  });

  it('a revocation at Google (then the revocation can be finished)', async () => {
    const user = await signIn(sut, world, 'revoke@example.com');
    const since = Date.now();
    const stall = proxy.inject({ method: 'POST', path: '/revoke', fault: 'stall', times: Infinity });
    const res = await fetch(`${sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${user.access_token}` } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'revocation_incomplete', message: expect.stringMatching(/Google/) });
    expectCancelledInTime(await closedByService('POST', '/revoke', since));
    stall.remove();
    const again = await fetch(`${sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${user.access_token}` } });
    expect(again.status).toBe(200);
  });
});
