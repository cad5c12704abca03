import { Browser } from '../support/http-client.js';
import { objectExists, signIn, startService, startSignIn, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';

describe('Sign-in flow cookies with COOKIE_SECURE (production, https)', () => {
  let world: World;
  let plain: Service;
  let sut: Service;

  beforeAll(async () => {
    ({ world, sut: plain } = await startWorldWithService());
    sut = await startService(world, { COOKIE_SECURE: 'true' });
  });
  afterAll(async () => {
    await sut.close();
    await stopAll(world, plain);
  });

  it('a flow cookie planted by another host of the site (login CSRF by cookie tossing) does not sign the victim in as the attacker', async () => {
    // The attacker starts a sign-in in their own browser, signs in at Google as themselves, and keeps the callback
    // link and the flow cookie instead of following it.
    const attacker = new Browser();
    const start = await attacker.get(`${sut.url}/auth/google`);
    const setCookie = start.headers.getSetCookie().find((c) => /wsb_flow_/.test(c)) as string;
    const [name, value] = setCookie.split(';')[0].split('=');
    const callback = await world.google.approve(start.headers.get('location') as string, { email: 'csrf-attacker@example.com' });

    // From a sibling subdomain they plant that cookie in the victim's browser under every name a browser would keep
    // (a __Host- name is refused from another host), then send the victim the callback link.
    const victim = new Browser();
    victim.tossCookie(name, value, '/auth/google');
    victim.tossCookie(name.replace(/^__Host-/, ''), value, '/auth/google');
    victim.tossCookie(name.replace(/^__Host-/, ''), value, '/');
    const res = await victim.get(callback);
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'state_unknown' });
    expect(JSON.stringify(body)).not.toMatch(/access_token|csrf-attacker/);

    // What keeps it out: the prefix, which a browser accepts only with Secure, Path=/ and no Domain.
    expect(setCookie).toMatch(/^__Host-wsb_flow_[^=]+=/);
    expect(setCookie).toMatch(/;\s*Secure/i);
    expect(setCookie).toMatch(/;\s*Path=\/(;|$)/i);
    expect(setCookie).not.toMatch(/;\s*Domain=/i);
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
  });

  it('the person\'s own sign-in completes through the __Host- cookie, and a browser still holds at most 5 flows', async () => {
    const browser = new Browser();
    const signedIn = await signIn(sut, world, 'secure-cookies@example.com', browser);
    expect(signedIn.access_token).toEqual(expect.any(String));
    expect(await objectExists(world, 'credentials/secure-cookies@example.com.json')).toBe(true);

    const tabs = new Browser();
    for (let i = 0; i < 8; i++) await startSignIn(sut, tabs);
    expect(tabs.cookieNames().filter((n) => n.startsWith('__Host-wsb_flow_'))).toHaveLength(5);
    expect(tabs.cookieNames().filter((n) => n.startsWith('wsb_flow_'))).toHaveLength(0);
  });

  it('without secure cookies (plain-http local use) the flow cookie keeps its plain name on /auth/google', async () => {
    const res = await new Browser().get(`${plain.url}/auth/google`);
    const setCookie = res.headers.getSetCookie().find((c) => /wsb_flow_/.test(c)) as string;
    expect(setCookie).toMatch(/^wsb_flow_[^=]+=/);
    expect(setCookie).toMatch(/;\s*Path=\/auth\/google(;|$)/i);
    expect(setCookie).not.toMatch(/;\s*Secure/i);
  });
});
