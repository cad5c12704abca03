import { Agent, get } from 'node:http';
import { getWithBearer, signIn, startWorld, World } from '../support/harness.js';
import { buildForReplicas, Replica, startReplica } from '../support/replica.js';

describe('Graceful shutdown (SIGTERM to a running process)', () => {
  let world: World;
  let replica: Replica;

  beforeAll(async () => {
    const main = buildForReplicas();
    world = await startWorld();
    replica = await startReplica(main, world, { SHUTDOWN_DELAY_MS: '800', GOOGLE_HTTP_TIMEOUT_MS: '1500' });
  }, 120_000);
  afterAll(async () => {
    await replica?.stop();
    await world?.close();
  });

  it('stops answering ready, drains the in-flight request, then exits 0', async () => {
    const { access_token } = await signIn(replica, world, 'drain@example.com');
    world.google.failNext('api', 'timeout'); // Google hangs: this request takes GOOGLE_HTTP_TIMEOUT_MS
    const started = Date.now();
    const slow = getWithBearer(replica, '/v1/users/me/gmail/messages', access_token).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown>, ms: Date.now() - started }));
    await new Promise((r) => setTimeout(r, 200));
    const exit = replica.exitCode();
    replica.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const ready = await fetch(`${replica.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'shutting_down' });
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
});
