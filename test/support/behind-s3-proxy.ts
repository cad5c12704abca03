import { FaultProxy } from './fault-proxy.js';
import { startService, startWorld, type Service, type World } from './harness.js';

/** What an S3 fault spec runs on: a world, a fault proxy in front of its S3, and a service that reaches S3 only through it. */
export interface BehindS3Proxy {
  world: World;
  /** The fault proxy in front of the world's S3. */
  s3: FaultProxy;
  /** A service instance whose S3_ENDPOINT is the proxy. */
  sut: Service;
}

/**
 * Sets up the describe block that calls it to run on a BehindS3Proxy: started before all its tests, the proxy's
 * faults cleared after each (a fault a test injected never reaches the next test), stopped after all. Hooks the spec
 * declares after this call run after these, so a spec's own beforeAll already finds the service. The returned
 * getters read what beforeAll started; read before that, they throw rather than hand a test undefined.
 */
export function useAppBehindS3Proxy(overrides: Record<string, string | undefined> = {}): BehindS3Proxy {
  let started: BehindS3Proxy | undefined;
  beforeAll(async () => {
    started = await startBehindS3Proxy(overrides);
  });
  afterEach(() => started?.s3.clear());
  afterAll(() => stopBehindS3Proxy(started?.world, started?.s3, started?.sut));
  const get = (): BehindS3Proxy => {
    if (!started) throw new Error('useAppBehindS3Proxy: read before its beforeAll started the service (or that start failed)');
    return started;
  };
  return {
    get world() {
      return get().world;
    },
    get s3() {
      return get().s3;
    },
    get sut() {
      return get().sut;
    },
  };
}

/**
 * Starts a world, an S3 fault proxy in front of its S3, and a service with S3_ENDPOINT at the proxy and `overrides`
 * (S3_TIMEOUT_MS and the like); stopBehindS3Proxy stops them. When a step fails, what already started is stopped
 * before the error is thrown: the caller never got it, so its afterAll could not. For a spec whose overrides exist only
 * once its own beforeAll ran (a certificate it generates); others call useAppBehindS3Proxy.
 */
export async function startBehindS3Proxy(overrides: Record<string, string | undefined>): Promise<BehindS3Proxy> {
  const world = await startWorld();
  let s3: FaultProxy | undefined;
  try {
    s3 = await FaultProxy.start(world.s3.endpoint);
    return { world, s3, sut: await startService(world, { S3_ENDPOINT: s3.url, ...overrides }) };
  } catch (err) {
    await stopBehindS3Proxy(world, s3, undefined);
    throw err;
  }
}

/** Stops what startBehindS3Proxy started: the service first, then the proxy, then the world, so nothing is left calling a stopped S3. */
export async function stopBehindS3Proxy(world: World | undefined, s3: FaultProxy | undefined, sut: Service | undefined): Promise<void> {
  await sut?.close();
  await s3?.stop();
  await world?.close();
}
