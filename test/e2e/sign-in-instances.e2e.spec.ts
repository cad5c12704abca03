import passport from 'passport';
import { GoogleOAuthStrategy } from '../../src/auth/google.strategy.js';
import { Browser } from '../support/http-client.js';
import { getWithBearer, Service, signIn, startService, startSignIn, startWorld, World } from '../support/harness.js';

/** Passport's lookup of a registered strategy (not in its public types; the guard's authenticate uses it). */
const registered = (name: string): unknown => (passport as unknown as { _strategy(name: string): unknown })._strategy(name);

/**
 * Several service instances in one process (as the tests run them), each with its own configuration, while
 * @nestjs/passport registers strategies in passport's process-wide registry: each instance must sign in with its own
 * strategy, and a closed instance must leave nothing behind.
 */
describe('Google sign-in with several service instances in one process', () => {
  let world: World;
  let a: Service;
  let b: Service;

  beforeAll(async () => {
    world = await startWorld();
    a = await startService(world);
    b = await startService(world);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await world?.close();
  });

  it('sends each instance\'s sign-in back to its own callback (PUBLIC_URL), and both sign in', async () => {
    for (const sut of [a, b]) {
      const location = new URL(await startSignIn(sut, new Browser(), 'x@example.com'));
      expect(location.searchParams.get('redirect_uri')).toBe(`${sut.url}/auth/google/callback`);
    }
    const onA = await signIn(a, world, 'one@example.com');
    const onB = await signIn(b, world, 'two@example.com');
    expect((await getWithBearer(a, '/auth/session', onA.access_token)).status).toBe(200);
    expect((await getWithBearer(b, '/auth/session', onB.access_token)).status).toBe(200);
  });

  it('registers each instance\'s strategy under a name of its own, and drops it when that app closes', async () => {
    const nameA = a.app.get(GoogleOAuthStrategy).name;
    const nameB = b.app.get(GoogleOAuthStrategy).name;
    expect(nameA).not.toBe(nameB);
    expect(registered(nameA)).toBe(a.app.get(GoogleOAuthStrategy));
    expect(registered('google')).toBeUndefined(); // nobody is left on the shared name

    await a.close();
    expect(registered(nameA)).toBeUndefined();
    // The other instance is untouched: it still signs people in.
    const after = await signIn(b, world, 'three@example.com');
    expect((await getWithBearer(b, '/auth/session', after.access_token)).status).toBe(200);
  });
});
