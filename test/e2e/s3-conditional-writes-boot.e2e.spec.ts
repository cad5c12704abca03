import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createApp, listen } from '../../src/app.factory.js';
import type { ConditionalHeader } from '../../emulators/s3/s3-fixes.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { freePort, serviceEnv, startService, startWorld, type Service, type World } from '../support/harness.js';

/** Where the check writes: documented (operations.md), since a policy scoped to key prefixes has to allow it. */
const CHECK_PREFIX = 'health/conditional-writes/';
const CHECK_PATH = /\/health\/conditional-writes\/[0-9a-f-]{36}\.json$/;
const SECTION = 'README, section "S3 that honours conditional writes"';

/**
 * Every "used once" and "never lost" guarantee rests on S3 honouring If-None-Match and If-Match. A replica checks
 * that before it serves; these run it against the embedded S3 server, which can play a store that ignores either
 * header (the way older SeaweedFS and some gateways answer 200 and overwrite).
 */
describe('the start-up check that S3 honours conditional writes', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    world.s3.embedded?.ignoreConditionalHeaders([]);
    await world?.close();
  });

  /** What the check left in the bucket (it deletes its object whatever the outcome). */
  async function leftovers(): Promise<string[]> {
    const listed = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket, Prefix: CHECK_PREFIX }));
    return (listed.Contents ?? []).map((c) => c.Key as string);
  }

  function embeddedS3() {
    const embedded = world.s3.embedded;
    if (!embedded) throw new Error('this spec plays a faulty S3 with the embedded server; it does not run against S3_TEST_ENDPOINT');
    return embedded;
  }

  /** Boots a service on an S3 ignoring `headers`: the boot must fail, and nothing may listen on its port. */
  async function bootIgnoring(headers: ConditionalHeader[]): Promise<unknown> {
    const port = await freePort();
    const app = await createApp({ env: serviceEnv(world, port), logger: world.logs, logDestination: world.logs });
    embeddedS3().ignoreConditionalHeaders(headers);
    try {
      const failure = await listen(app, port, '127.0.0.1').then(() => 'started', (err: unknown) => err);
      const reached = await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.status, () => 'refused');
      expect(reached).toBe('refused');
      return failure;
    } finally {
      embeddedS3().ignoreConditionalHeaders([]);
      await app.close();
    }
  }

  it('refuses to start on an S3 that ignores If-None-Match, saying so and what to do, and serves nothing', async () => {
    const failure = await bootIgnoring(['if-none-match']);
    expect(failure).toMatchObject({ code: 'conditions_ignored' });
    const message = (failure as Error).message;
    expect(message).toMatch(new RegExp(`^S3 ignores If-None-Match: \\* on bucket "${world.bucket}": a create-only PUT of an object that exists replaced it`));
    expect(message).toContain('Upgrade the store or move to one that honours If-None-Match and If-Match');
    expect(message).toContain(SECTION);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses to start on an S3 that ignores If-Match, saying so and what to do, and serves nothing', async () => {
    const failure = await bootIgnoring(['if-match']);
    expect(failure).toMatchObject({ code: 'conditions_ignored' });
    const message = (failure as Error).message;
    expect(message).toMatch(new RegExp(`^S3 ignores If-Match on bucket "${world.bucket}": a PUT with If-Match on an ETag the object does not have replaced it`));
    expect(message).toContain(SECTION);
    expect(await leftovers()).toEqual([]);
  });

  it('on an S3 that honours both, boots ready after four requests on a key of its own, and leaves nothing behind', async () => {
    const s3 = await FaultProxy.start(world.s3.endpoint);
    let sut: Service | undefined;
    try {
      sut = await startService(world, { S3_ENDPOINT: s3.url });
      const check = s3.requests.filter((r) => CHECK_PATH.test(r.path)).map((r) => [r.method, r.status]);
      expect(check).toEqual([
        ['PUT', 200], // created
        ['PUT', 412], // created again: refused
        ['PUT', 412], // written on a wrong ETag: refused
        ['DELETE', 204],
      ]);
      expect(new Set(s3.requests.filter((r) => CHECK_PATH.test(r.path)).map((r) => r.path)).size).toBe(1);
      expect((await fetch(`${sut.url}/health/ready`)).status).toBe(200);
      expect(await leftovers()).toEqual([]);
    } finally {
      await sut?.close();
      await s3.stop();
    }
  });

  it('two replicas booting at once on one bucket both pass, each with its own object', async () => {
    const s3 = await FaultProxy.start(world.s3.endpoint);
    const started = await Promise.allSettled([startService(world, { S3_ENDPOINT: s3.url }), startService(world, { S3_ENDPOINT: s3.url })]);
    try {
      expect(started.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
      const creates = s3.requests.filter((r) => CHECK_PATH.test(r.path) && r.method === 'PUT' && r.status === 200);
      expect(new Set(creates.map((r) => r.path)).size).toBe(2);
      expect(await leftovers()).toEqual([]);
    } finally {
      for (const s of started) if (s.status === 'fulfilled') await s.value.close();
      await s3.stop();
    }
  });

  it('S3 unreachable at boot: the boot goes on, and the replica is not ready until the check has passed, then ready', async () => {
    const s3 = await FaultProxy.start(world.s3.endpoint);
    await embeddedS3().stop();
    let sut: Service | undefined;
    try {
      sut = await startService(world, { S3_ENDPOINT: s3.url });
      expect((await fetch(`${sut.url}/health/ready`)).status).toBe(503);
      await embeddedS3().start();
      // S3 answers the probe's read again, but its writes fail: the check cannot pass, so not ready.
      s3.inject({ method: 'PUT', path: CHECK_PATH, fault: 'answer', status: 503, contentType: 'application/xml', body: '<Error><Code>ServiceUnavailable</Code></Error>', times: Infinity });
      const blocked = await fetch(`${sut.url}/health/ready`);
      expect(blocked.status).toBe(503);
      expect(await blocked.json()).toMatchObject({ statusCode: 503, error: { s3: { status: 'down', reason: 'conditional_writes_unchecked' } }, message: expect.stringContaining('the check that S3 honours conditional writes has not passed yet') });
      const notReady = world.logs.lines.filter((l) => (l.message as { event?: string })?.event === 's3_not_ready' && (l.message as { reason?: string }).reason === 'conditional_writes_unchecked');
      expect(notReady).toEqual([expect.objectContaining({ message: expect.objectContaining({ detail: expect.stringContaining('The check that S3 honours conditional writes (needed before this replica takes traffic) could not finish') }) })]);
      expect(s3.requests.some((r) => r.method === 'GET' && r.path.endsWith('/health/probe-never-written.json') && r.status === 404)).toBe(true);
      s3.clear();
      expect((await fetch(`${sut.url}/health/ready`)).status).toBe(200);
      expect(await leftovers()).toEqual([]);
      // Passed once: readiness is back to its one GET.
      const before = s3.requests.length;
      expect((await fetch(`${sut.url}/health/ready`)).status).toBe(200);
      expect(s3.requests.slice(before).map((r) => r.method)).toEqual(['GET']);
    } finally {
      await embeddedS3().start();
      await sut?.close();
      await s3.stop();
    }
  });

  it('S3 unreachable at boot, then back ignoring If-None-Match: not ready for good, and the log says why', async () => {
    await embeddedS3().stop();
    let sut: Service | undefined;
    try {
      sut = await startService(world);
      embeddedS3().ignoreConditionalHeaders(['if-none-match']);
      await embeddedS3().start();
      const ready = await fetch(`${sut.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ error: { s3: { status: 'down', reason: 'conditional_writes_ignored' } }, message: expect.stringContaining('S3 ignores conditional writes') });
      const notReady = world.logs.lines.filter((l) => (l.message as { event?: string })?.event === 's3_not_ready' && (l.message as { reason?: string }).reason === 'conditional_writes_ignored');
      expect(notReady).toEqual([expect.objectContaining({ message: expect.objectContaining({ detail: expect.stringMatching(/S3 ignores If-None-Match: \* on bucket .*S3 that honours conditional writes/) }) })]);
      // A store seen ignoring a condition stays refused, even if it seems to behave later (restart once it is fixed).
      embeddedS3().ignoreConditionalHeaders([]);
      expect((await fetch(`${sut.url}/health/ready`)).status).toBe(503);
      // The background retry (every 5 s) logs it once, for replicas nobody probes too.
      const logged = () => world.logs.lines.filter((l) => l.level === 'error' && (l.message as { event?: string })?.event === 'conditional_writes_ignored');
      for (let waited = 0; logged().length === 0 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      expect(logged()).toEqual([expect.objectContaining({ message: expect.objectContaining({ detail: expect.stringContaining('S3 ignores If-None-Match') }) })]);
      expect(await leftovers()).toEqual([]);
    } finally {
      embeddedS3().ignoreConditionalHeaders([]);
      await embeddedS3().start();
      await sut?.close();
    }
  }, 30_000);
});
