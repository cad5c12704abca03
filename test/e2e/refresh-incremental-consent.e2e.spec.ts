import { useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { Browser } from '../support/http-client.js';
import { credentialsKeyPath, getWithBearer, readObject, type Service, signIn, startSignIn } from '../support/harness.js';

const G = 'https://www.googleapis.com/auth/';
const GMAIL_SEND = `${G}gmail.send`;
const GMAIL = '/v1/users/me/gmail/messages';
const mail = { to: ['ada@example.com'], subject: 'hello', text: 'needs the scope granted a moment ago' };

/**
 * A refresh on replica A that read the credentials before a sign-in on replica B stored a wider grant (an
 * incremental consent: Google adds gmail.send to the user's grant) and writes after it. Google answered A's refresh
 * with the scopes of the grant as it was then; A's write-back used to put that older scope list and access token
 * over B's, and A's cache kept them: a call needing gmail.send answered 403 insufficient_scope ("which this user has
 * not granted") on A at once, and on every replica once its cache read S3 again, until the next refresh.
 */
describe('a refresh that lands just after an incremental consent keeps the wider grant', () => {
  const replicas = useReplicasBehindS3Proxy({
    refreshing: { throughProxy: true }, // A in the test names: its S3 calls go through the proxy
    consenting: { env: { GOOGLE_SCOPES: 'gmail.readonly drive.readonly calendar.readonly gmail.send' } }, // B: asks Google for gmail.send on top of the default scopes
  });

  const stored = async (email: string) => (await readObject(replicas.world, `credentials/${email}.json`)).json;
  const send = (service: Service, bearer: string) =>
    fetch(`${service.url}${GMAIL}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(mail) });

  /** A's refresh has Google's answer (the grant before the consent) and its S3 write is held at the proxy. */
  async function refreshHeldAtWrite(email: string, bearer: string) {
    replicas.world.google.expireAccessTokens(email);
    const held = replicas.s3.holdNext({ method: 'PUT', path: credentialsKeyPath(email) });
    const call = getWithBearer(replicas.refreshing, GMAIL, bearer);
    await held.arrived;
    return { held, call };
  }

  for (const rotation of [false, true]) {
    it(`${rotation ? 'with' : 'without'} rotation: a consent that brought no new refresh token keeps its scopes and access token in S3 and on A`, async () => {
      const email = `step-up-${rotation ? 'rotating' : 'kept'}@example.com`;
      const first = await signIn(replicas.refreshing, replicas.world, email);
      replicas.world.google.rotateRefreshTokens(rotation);
      const { held, call } = await refreshHeldAtWrite(email, first.access_token);
      const refreshedTo = String((JSON.parse((await held.arrived).body.toString('utf8')) as { refresh_token: string }).refresh_token);

      const wider = await signIn(replicas.consenting, replicas.world, email); // Google knows the user: no refresh token, scopes added
      const afterConsent = await stored(email);
      expect(afterConsent.scopes).toContain(GMAIL_SEND);

      await held.release(); // 412 (B wrote), A re-reads and merges
      expect((await call).status).toBe(200);
      const now = await stored(email);
      expect(now.scopes).toContain(GMAIL_SEND);
      expect(now.token).toBe(afterConsent.token);
      expect(now.refresh_token).toBe(refreshedTo); // the token A's refresh used (rotated: its successor), never lost
      expect(replicas.world.google.refreshTokenWorks(String(now.refresh_token))).toBe(true);
      // On A (its cache) and on B: the scope granted a moment ago works.
      expect((await send(replicas.refreshing, wider.access_token)).status).toBe(201);
      expect((await send(replicas.consenting, wider.access_token)).status).toBe(201);
    });
  }

  it('a refresh whose write S3 refused, written again in the background after the consent, keeps the wider grant too', async () => {
    const email = 'step-up-write-back@example.com';
    const first = await signIn(replicas.refreshing, replicas.world, email);
    replicas.world.google.rotateRefreshTokens(true);
    replicas.world.google.expireAccessTokens(email);
    const puts = replicas.s3.inject({ method: 'PUT', path: credentialsKeyPath(email), fault: 'reset', times: Infinity });
    expect((await getWithBearer(replicas.refreshing, GMAIL, first.access_token)).status).toBe(200); // rotated; kept in A's memory
    const rotated = (await stored(email)).refresh_token;
    expect(replicas.world.google.refreshTokenWorks(String(rotated))).toBe(false); // S3 holds the dead ancestor

    await signIn(replicas.consenting, replicas.world, email); // the consent adds gmail.send; no new refresh token
    const afterConsent = await stored(email);
    puts.remove(); // A's next background attempt lands (they are at most S3_TIMEOUT_MS / 2 apart)
    const until = Date.now() + 15_000;
    while ((await stored(email)).refresh_token === rotated) {
      if (Date.now() > until) throw new Error('the background write never landed');
      await new Promise((r) => setTimeout(r, 50));
    }
    const now = await stored(email);
    expect(now).toMatchObject({ token: afterConsent.token, scopes: afterConsent.scopes });
    expect(replicas.world.google.refreshTokenWorks(String(now.refresh_token))).toBe(true);
  }, 30_000);

  it("a replica whose cached copy predates the consent reads S3 before answering 403 for the scope it added", async () => {
    const email = 'step-up-warm-cache@example.com';
    const first = await signIn(replicas.refreshing, replicas.world, email);
    expect((await getWithBearer(replicas.refreshing, GMAIL, first.access_token)).status).toBe(200); // A caches the narrower grant
    const wider = await signIn(replicas.consenting, replicas.world, email);
    expect((await stored(email)).scopes).toContain(GMAIL_SEND);
    expect((await send(replicas.refreshing, wider.access_token)).status).toBe(201);
    expect((await send(replicas.refreshing, first.access_token)).status).toBe(403); // the first bearer never had the scope
  });

  it('a consent that brought a new refresh token (a new grant) while A refreshed: A serves the new grant, not its refresh of the old one', async () => {
    const email = 'new-grant-during-refresh@example.com';
    const first = await signIn(replicas.refreshing, replicas.world, email);
    const firstRefreshToken = (await stored(email)).refresh_token;
    const { held, call } = await refreshHeldAtWrite(email, first.access_token);

    // prompt=consent (as after wsb_consent_next): Google issues a second refresh token, the old one stays valid.
    const browser = new Browser();
    const authorize = new URL(await startSignIn(replicas.consenting, browser, email));
    authorize.searchParams.set('prompt', 'consent');
    const callback = await browser.get(await replicas.world.google.approve(authorize.toString(), { email }));
    expect(callback.status).toBe(200);
    const wider = (await callback.json()) as { access_token: string };
    const afterConsent = await stored(email);
    expect(afterConsent.refresh_token).not.toBe(firstRefreshToken);
    expect(replicas.world.google.refreshTokenWorks(String(firstRefreshToken))).toBe(true);

    await held.release(); // 412, then superseded: S3 keeps B's grant
    expect((await call).status).toBe(200);
    expect(await stored(email)).toMatchObject({ refresh_token: afterConsent.refresh_token, token: afterConsent.token });
    expect((await send(replicas.refreshing, wider.access_token)).status).toBe(201);
  });
});
