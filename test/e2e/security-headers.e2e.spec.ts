import { getWithBearer, Service, signIn, startWorldWithService, stopAll, World } from '../support/harness.js';

/** No page of ours can be framed (clickjacking), sniffed into another type, or leak its URL as a referrer. */
describe('Security headers', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  function expectHardened(res: Response): void {
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  }

  it('serves Swagger UI at /docs unframeable, with a policy its own scripts and styles fit in', async () => {
    const res = await fetch(`${sut.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expectHardened(res);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);

    // Under script-src 'self' the page may only run scripts it loads from this origin: no inline code, every
    // src same-origin and served as JavaScript (Swagger UI's bundle, preset and the init script with our document).
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>\s*\S/);
    const sources = [...html.matchAll(/<script[^>]*\bsrc=["']([^"']+)["']/g)].map((m) => new URL(m[1], res.url));
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const src of sources) {
      expect(src.origin).toBe(sut.url);
      const script = await fetch(src);
      expect({ src: src.pathname, status: script.status }).toEqual({ src: src.pathname, status: 200 });
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      await script.arrayBuffer(); // read it all, so the connection is free when the service closes
    }
    const stylesheets = [...html.matchAll(/<link[^>]*rel=["']stylesheet["'][^>]*href=["']([^"']+)["']/g)].map((m) => new URL(m[1], res.url));
    for (const href of stylesheets) expect(href.origin).toBe(sut.url);
  });

  it.each([
    ['a JSON answer', '/health/live'],
    ['an error', '/no/such/route'],
    ['the sign-in redirect', '/auth/google'],
  ])('hardens %s too', async (_what, path) => {
    const res = await fetch(`${sut.url}${path}`, { redirect: 'manual' });
    await res.arrayBuffer();
    expectHardened(res);
  });

  it('lets no cache keep a user\'s data or a token (Cache-Control: no-store), but lets the pages\' assets be cached', async () => {
    const user = await signIn(sut, world, 'no-store@example.com');
    for (const path of ['/auth/session', '/v1/users/me/gmail/messages', '/v1/users/me/drive/files']) {
      const res = await getWithBearer(sut, path, user.access_token);
      await res.arrayBuffer();
      expect({ path, status: res.status, cacheControl: res.headers.get('cache-control') }).toEqual({ path, status: 200, cacheControl: 'no-store' });
    }
    const refused = await getWithBearer(sut, '/v1/users/me/gmail/messages', 'not-a-token');
    await refused.arrayBuffer();
    expect(refused.headers.get('cache-control')).toBe('no-store');
    const home = await (await fetch(`${sut.url}/`)).text();
    const asset = /<script[^>]*\bsrc=["']([^"']+)["']/.exec(home)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(new URL(asset as string, sut.url));
    await script.arrayBuffer();
    expect(script.headers.get('cache-control')).toBe('public, max-age=300');
  });
});
