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
 * Starts a world, an S3 fault proxy in front of its S3, and a service with S3_ENDPOINT at the proxy and `overrides`
 * (S3_TIMEOUT_MS and the like); stopBehindS3Proxy stops them. When a step fails, what already started is stopped
 * before the error is thrown: the spec never got it, so its afterAll could not.
 */
export async function startBehindS3Proxy(overrides: Record<string, string | undefined> = {}): Promise<BehindS3Proxy> {
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
