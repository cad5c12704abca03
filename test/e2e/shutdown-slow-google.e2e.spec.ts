import { RefreshWriteBack } from '../../src/credentials/refresh-write-back.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { getWithBearer, googleThrough, readObject, type Service, signIn, startService, startWorld, type World } from '../support/harness.js';

const GMAIL = '/v1/users/me/gmail/messages';

/**
 * A shutdown whose drain was cut while a token refresh waited for Google: Google may already have rotated the grant
 * (the refresh token S3 holds is dead from then on), and answers later, still within GOOGLE_HTTP_TIMEOUT_MS. The
 * process exits when close() resolves (main.ts): by then the rotated token must be in S3.
 */
describe('a refresh Google answers late but within its bound, as the service shuts down', () => {
  let world: World;
  let google: FaultProxy;
  let sut: Service | undefined;

  beforeAll(async () => {
    world = await startWorld();
    google = await FaultProxy.start(new URL(world.google.urls.token).origin);
  });
  afterAll(async () => {
    world.google.rotateRefreshTokens(false);
    await sut?.close().catch(() => undefined);
    await google?.stop();
    await world?.close();
  });

  it('writes the rotated token to S3 before close() resolves', async () => {
    sut = await startService(world, { ...googleThrough(world, google), S3_TIMEOUT_MS: '1000', GOOGLE_HTTP_TIMEOUT_MS: '5000', SHUTDOWN_DELAY_MS: '0', SHUTDOWN_DRAIN_MS: '300' });
    const email = 'shutdown-slow-google@example.com';
    const { access_token } = await signIn(sut, world, email);
    const dead = (await readObject(world, `credentials/${email}.json`)).json.refresh_token as string;
    expect(world.google.refreshTokenWorks(dead)).toBe(true);
    world.google.rotateRefreshTokens(true);
    world.google.expireAccessTokens(email);
    const tokenPath = new URL(world.google.urls.token).pathname;
    // Google rotates at once; its answer arrives 2.5 s later: past S3_TIMEOUT_MS, within GOOGLE_HTTP_TIMEOUT_MS.
    google.inject({ method: 'POST', path: tokenPath, fault: 'slow-answer', ms: 2500 });
    const inFlight = getWithBearer(sut, GMAIL, access_token).then((r) => r.status, () => 'cut');
    // Google has applied the refresh: waited for, not assumed 100 ms after the proxy forwarded it (the emulator shares
    // this process and its 2 cores with jest; a busier moment would fail the check). Within 2 s, well inside the
    // 2.5 s its answer is held, so the close still starts before the answer reaches the service.
    const appliedBy = Date.now() + 2000;
    while (world.google.refreshTokenWorks(dead) && Date.now() < appliedBy) await new Promise((r) => setTimeout(r, 10));
    expect(world.google.refreshTokenWorks(dead)).toBe(false);
    expect(google.seen('POST', tokenPath).some((r) => r.fault === 'slow-answer' && r.forwarded)).toBe(true);
    await sut.close(); // SIGTERM: main.ts exits as soon as this resolves
    const stored = (await readObject(world, `credentials/${email}.json`)).json.refresh_token as string;
    expect(stored).not.toBe(dead);
    expect(world.google.refreshTokenWorks(stored)).toBe(true);
    expect(await inFlight).toBe('cut');
  }, 30_000);

  it('says so in an error line when S3 does not take a rotated token before the process exits (the user must sign in again)', async () => {
    const s3 = await FaultProxy.start(world.s3.endpoint);
    try {
      sut = await startService(world, { S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: '1000', SHUTDOWN_DELAY_MS: '0', SHUTDOWN_DRAIN_MS: '300' });
      const email = 'shutdown-s3-down@example.com';
      const { access_token } = await signIn(sut, world, email);
      world.google.rotateRefreshTokens(true);
      world.google.expireAccessTokens(email);
      s3.inject({ method: 'PUT', path: /\/credentials\/shutdown-s3-down(@|%40)example\.com\.json$/, fault: 'reset', times: Infinity });
      expect((await getWithBearer(sut, GMAIL, access_token)).status).toBe(200); // rotated; only this replica holds the new token
      await sut.close();
      const lines = world.logs.lines.filter((l) => (l.message as { event?: string; user?: string })?.event === 'refresh_write_retry' && (l.message as { user?: string }).user === email);
      expect(lines.at(-1)).toMatchObject({ level: 'error', message: { outcome: 'lost', user: email } });
      expect(world.logs.text).not.toContain((await sut.app.get(RefreshWriteBack).get(email))?.credentials.refreshToken ?? 'no token kept');
    } finally {
      world.google.rotateRefreshTokens(false);
      await s3.stop();
    }
  }, 30_000);
});
