import { Browser } from '../support/http-client.js';
import { Service, startService, startSignIn, startWorld, World } from '../support/harness.js';

const FORGED = '203.0.113.7';

/**
 * X-Forwarded-For decides the client IP (audit trail, rate limits) only when it comes from a hop named in
 * TRUST_PROXY. Every request here reaches the service from 127.0.0.1.
 */
describe('TRUST_PROXY', () => {
  let world: World;
  const services: Service[] = [];

  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    for (const s of services) await s.close();
    await world?.close();
  });

  async function serviceWith(trustProxy: string | undefined): Promise<Service> {
    const s = await startService(world, { TRUST_PROXY: trustProxy });
    services.push(s);
    return s;
  }

  /** Signs `email` in, sending `forwardedFor` on the callback; returns the IP of the audit event `sign_in`. */
  async function signInIp(sut: Service, email: string, forwardedFor: string): Promise<unknown> {
    const browser = new Browser();
    const callbackUrl = await world.google.approve(await startSignIn(sut, browser, email), { email });
    const res = await browser.get(callbackUrl, { 'x-forwarded-for': forwardedFor });
    expect(res.status).toBe(200);
    const events = world.logs.events('sign_in').filter((e) => e.user === email);
    expect(events).toHaveLength(1);
    return events[0].ip;
  }

  it('ignores X-Forwarded-For by default: the audit trail keeps the real peer', async () => {
    const sut = await serviceWith(undefined);
    expect(await signInIp(sut, 'default@example.com', FORGED)).toBe('127.0.0.1');
  });

  it('honours X-Forwarded-For from a named proxy address', async () => {
    const sut = await serviceWith('127.0.0.1');
    expect(await signInIp(sut, 'named@example.com', FORGED)).toBe(FORGED);
  });

  it('honours it from a named CIDR, and takes the address the trusted hop saw, not what the client wrote', async () => {
    const sut = await serviceWith('127.0.0.0/8');
    // The client itself claims 198.51.100.1; our proxy (127.0.0.1) appended the address it really saw.
    expect(await signInIp(sut, 'cidr@example.com', `198.51.100.1, ${FORGED}`)).toBe(FORGED);
  });

  it('ignores it when the peer is not one of the named proxies', async () => {
    const sut = await serviceWith('10.0.0.0/8, 192.168.1.10');
    expect(await signInIp(sut, 'stranger@example.com', FORGED)).toBe('127.0.0.1');
  });

  it('with true, takes the first address of the chain (for a service only proxies can reach)', async () => {
    const sut = await serviceWith('true');
    expect(await signInIp(sut, 'all-hops@example.com', `198.51.100.1, ${FORGED}`)).toBe('198.51.100.1');
  });

  it.each([['the load balancer'], ['10.0.0.0/33'], ['2']])('refuses to start with TRUST_PROXY=%s, naming the variable', async (value) => {
    await expect(serviceWith(value)).rejects.toThrow(/TRUST_PROXY/);
  });
});
