import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Agent, get } from 'node:http';
import { FaultProxy } from '../support/fault-proxy.js';
import { getWithBearer, signIn, startWorld, World } from '../support/harness.js';
import { buildForReplicas, Replica, startReplica } from '../support/replica.js';

const GMAIL = '/v1/users/me/gmail/messages';
/** Readiness' delay of the first test's replica: readiness must be seen failing within it, while the server still accepts. */
const DELAY_MS = 800;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves once `request` has reached Google (the emulator's hold on its next Workspace call saw it), then lets Google
 * go on with it (a failure queued with failNext still applies): from then on the request is in flight in the service.
 * A fixed wait let SIGTERM come before a request that a busy machine had not delivered yet, which the server then
 * took during readiness' delay: the test passed without a request in flight when the shutdown began.
 */
async function atGoogle(reached: { arrived: Promise<void>; release(): void }, request: Promise<unknown>): Promise<void> {
  const answeredFirst = request.then((r) => Promise.reject(new Error(`the request was answered before it reached Google: ${JSON.stringify(r)}`)));
  await Promise.race([reached.arrived, answeredFirst]);
  reached.release();
}

/** Waits until the replica has written `text`, for at most `ms`. */
async function untilLogged(r: Replica, text: string, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; !r.rawOutput().includes(text); await sleep(10)) {
    if (Date.now() > deadline) throw new Error(`the replica did not write "${text}" within ${ms} ms`);
  }
}

describe('Graceful shutdown (SIGTERM to a running process)', () => {
  let world: World;
  let replica: Replica;
  let main: string;
  const others: Replica[] = [];

  beforeAll(async () => {
    main = buildForReplicas();
    world = await startWorld();
    replica = await startReplica(main, world, { SHUTDOWN_DELAY_MS: String(DELAY_MS), GOOGLE_HTTP_TIMEOUT_MS: '1500' });
  }, 120_000);
  afterEach(() => {
    world.google.rotateRefreshTokens(false);
  });
  afterAll(async () => {
    await replica?.stop();
    for (const other of others) await other.stop();
    await world?.close();
  });

  it('stops answering ready, drains the in-flight request, then exits 0', async () => {
    const { access_token } = await signIn(replica, world, 'drain@example.com');
    world.google.failNext('api', 'timeout'); // Google hangs: this request takes GOOGLE_HTTP_TIMEOUT_MS
    const reached = world.google.holdNext('api');
    const started = Date.now();
    const slow = getWithBearer(replica, '/v1/users/me/gmail/messages', access_token).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown>, ms: Date.now() - started }));
    await atGoogle(reached, slow); // in flight when SIGTERM comes
    const exit = replica.exitCode();
    replica.signal('SIGTERM');
    // Read once the replica says it is draining, not a fixed time after the signal (which a busy machine may not
    // have handed to the process yet): from then on readiness must fail, within readiness' delay.
    await untilLogged(replica, 'draining: readiness now fails', DELAY_MS);
    const ready = await fetch(`${replica.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'shutting_down' });
    // Sign-ins still work while draining (a browser mid-way through one is not turned away with a 500).
    const signInStart = await fetch(`${replica.url}/auth/google`, { redirect: 'manual' });
    expect(signInStart.status).toBe(302);
    expect(signInStart.headers.get('location')).toContain(world.google.urls.auth);
    // Liveness stays 200 while draining (the process is alive; a restart now would cut the drain short), and its
    // answer closes the connection like every other answer, so no kept-alive socket holds the shutdown open.
    const agent = new Agent({ keepAlive: true });
    const live = await new Promise<{ status?: number; connection?: string }>((resolve, reject) => {
      get(`${replica.url}/health/live`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection }));
      }).on('error', reject);
    }).finally(() => agent.destroy());
    expect(live).toEqual({ status: 200, connection: 'close' });
    const answered = await slow; // the in-flight request still gets its whole answer
    expect(answered.status).toBe(502);
    expect(answered.body).toMatchObject({ statusCode: 502, message: expect.any(String) });
    expect(answered.ms).toBeGreaterThanOrEqual(1400);
    expect(await exit).toBe(0);
  });

  it('writes a rotated refresh token S3 has not taken yet as SIGTERM arrives, before the drain (Kubernetes may kill the pod during it)', async () => {
    const s3 = await FaultProxy.start(world.s3.endpoint);
    try {
      // No drain bound: the write must not depend on the drain ending (a Google call held for 30 s keeps it going),
      // nor on readiness' delay (3 s here: the pod is killed before it ends).
      const r = await startReplica(main, world, { S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: '2000', SHUTDOWN_DELAY_MS: '3000', SHUTDOWN_DRAIN_MS: '0', GOOGLE_HTTP_TIMEOUT_MS: '30000' });
      others.push(r);
      const email = 'shutdown-rotated@example.com';
      const key = `credentials/${email}.json`;
      const stored = async () => JSON.parse((await (await world.admin.send(new GetObjectCommand({ Bucket: world.bucket, Key: key }))).Body?.transformToString()) ?? '{}') as { refresh_token: string };
      const { access_token } = await signIn(r, world, email);
      world.google.rotateRefreshTokens(true);
      world.google.expireAccessTokens(email);
      const path = /\/credentials\/shutdown-rotated(@|%40)example\.com\.json$/;
      const refusedFrom = Date.now();
      const puts = s3.inject({ method: 'PUT', path, fault: 'reset', times: Infinity });
      expect((await getWithBearer(r, GMAIL, access_token)).status).toBe(200); // refreshed and rotated; S3 refused the write
      const dead = (await stored()).refresh_token;
      expect(world.google.refreshTokenWorks(dead)).toBe(false);
      world.google.failNext('api', 'timeout');
      const inFlight = getWithBearer(r, GMAIL, access_token).then((res) => res.status, () => 'cut');
      // Let the background writes back off (at least 5 failed: the next is at least 4.8 s after the last), and act
      // within about half a second of the last one, so no background write can land before the check below.
      let quietSince = Date.now();
      for (let last = puts.hits; puts.hits < 12 || Date.now() - quietSince < 400; ) {
        await sleep(50);
        if (puts.hits !== last) [last, quietSince] = [puts.hits, Date.now()];
      }
      puts.remove(); // S3 takes writes again
      const signalledAt = Date.now();
      r.signal('SIGTERM');
      // Waits for the write S3 took, as long as readiness' delay runs (the pod may be killed once it ends): a fixed
      // wait fails against an S3 slower than it, or checks before the write when the machine is busy.
      const written = () => s3.seen('PUT', path).find((p) => p.at >= refusedFrom && p.status === 200);
      while (!written() && Date.now() - signalledAt < 3_000) await sleep(20);
      const put = written();
      expect(put).toBeDefined();
      expect(put!.at).toBeGreaterThanOrEqual(signalledAt); // sent after SIGTERM: the shutdown's write, not a background one
      const now = (await stored()).refresh_token;
      expect(now).not.toBe(dead);
      expect(world.google.refreshTokenWorks(now)).toBe(true);
      r.signal('SIGKILL'); // the grace period ends mid-drain: nothing is lost
      await r.exitCode();
      expect(await inFlight).toBe('cut');
    } finally {
      await s3.stop();
    }
  }, 60_000);

  it('closes the connections still open once the drain overruns SHUTDOWN_DRAIN_MS, then exits 0 long before the call would end', async () => {
    const r = await startReplica(main, world, { SHUTDOWN_DELAY_MS: '200', SHUTDOWN_DRAIN_MS: '800', GOOGLE_HTTP_TIMEOUT_MS: '30000' });
    others.push(r);
    const { access_token } = await signIn(r, world, 'drain-overdue@example.com');
    world.google.failNext('api', 'timeout');
    const reached = world.google.holdNext('api');
    const inFlight = getWithBearer(r, GMAIL, access_token).then((res) => res.status, () => 'cut');
    // In flight when SIGTERM comes: a request that reached the server only once it stopped accepting (after the
    // 200 ms delay) was refused, and nothing was left for the drain to overrun.
    await atGoogle(reached, inFlight);
    const started = Date.now();
    r.signal('SIGTERM');
    expect(await r.exitCode()).toBe(0);
    expect(Date.now() - started).toBeLessThan(200 + 800 + 3_000);
    expect(await inFlight).toBe('cut');
    expect(r.logs.some((line) => line.includes('drain_overdue'))).toBe(true);
  }, 60_000);
});
