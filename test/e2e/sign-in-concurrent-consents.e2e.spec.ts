import { Browser } from '../support/http-client.js';
import { getWithBearer, readObject, type Service, signIn, startService, startSignIn, startWorld, type World } from '../support/harness.js';

const GMAIL_SEND = 'https://www.googleapis.com/auth/gmail.send';
const GMAIL = '/v1/users/me/gmail/messages';
const mail = { to: ['ada@example.com'], subject: 'hello', text: 'two consents at once' };

/**
 * Two sign-ins of one user finishing at the same moment, both through Google's consent screen (so both bring a
 * refresh token), one of them asking for gmail.send on top. S3 holds one grant per user: the last write wins. What
 * that costs is written down in docs/failure-model.md ("Two consents of one user at once"); this proves it: no
 * session ends, the stored refresh token works, and only the losing sign-in's added scope is missing, with a 403
 * that says how to get it, which one more consent does.
 */
describe('two consents of one user at the same moment', () => {
  let world: World;
  let a: Service;
  let b: Service; // asks Google for gmail.send on top of the default scopes

  beforeAll(async () => {
    world = await startWorld();
    a = await startService(world);
    b = await startService(world, { GOOGLE_SCOPES: 'gmail.readonly drive.readonly calendar.readonly gmail.send' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await world?.close();
  });

  /** The person passed Google's consent screen (prompt=consent): the callback URL, not yet opened. */
  async function consented(service: Service, email: string) {
    const browser = new Browser();
    const authorize = new URL(await startSignIn(service, browser, email));
    authorize.searchParams.set('prompt', 'consent');
    return { browser, callback: await world.google.approve(authorize.toString(), { email }) };
  }
  const send = (service: Service, bearer: string) =>
    fetch(`${service.url}${GMAIL}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(mail) });

  it("the last write wins: both sessions work, the stored refresh token works, the losing sign-in's scope answers 403 until consented again", async () => {
    const email = 'two-tabs@example.com';
    // Both consents given before either code is exchanged; B's write lands first, A's (without gmail.send) last.
    const [onA, onB] = [await consented(a, email), await consented(b, email)];
    const resB = await onB.browser.get(onB.callback);
    const resA = await onA.browser.get(onA.callback);
    expect([resA.status, resB.status]).toEqual([200, 200]);
    const [bearerA, bearerB] = [((await resA.json()) as { access_token: string }).access_token, ((await resB.json()) as { access_token: string }).access_token];
    const stored = (await readObject(world, `credentials/${email}.json`)).json;
    expect(stored.scopes).not.toContain(GMAIL_SEND);
    expect(world.google.refreshTokenWorks(String(stored.refresh_token))).toBe(true);

    // Both sessions keep working, on both replicas, also across a refresh.
    world.google.expireAccessTokens(email);
    for (const service of [a, b]) for (const bearer of [bearerA, bearerB]) expect((await getWithBearer(service, GMAIL, bearer)).status).toBe(200);

    const refused = await send(b, bearerB);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain('sign in again');
    const again = await signIn(b, world, email); // one more consent (incremental): the scope is stored again
    expect((await readObject(world, `credentials/${email}.json`)).json.scopes).toContain(GMAIL_SEND);
    expect((await send(b, again.access_token)).status).toBe(201);
  });
});
