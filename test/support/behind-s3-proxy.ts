import { FaultProxy } from './fault-proxy.js';
import { closeInOrder, startService, startWorld, type Service, type World } from './harness.js';

/** What an S3 fault spec runs on: a world, a fault proxy in front of its S3, and a service that reaches S3 only through it. */
export interface BehindS3Proxy {
  world: World;
  /** The fault proxy in front of the world's S3. */
  s3: FaultProxy;
  /** A service instance whose S3_ENDPOINT is the proxy. */
  sut: Service;
}

/** How one replica of a ReplicasBehindS3Proxy starts. */
export interface ReplicaSettings {
  /** Its S3_ENDPOINT is the fault proxy (its S3 calls can be failed or held); otherwise it reaches S3 directly. */
  throughProxy?: boolean;
  /** Environment overrides (S3_TIMEOUT_MS, SESSION_CACHE_TTL_MS, GOOGLE_SCOPES and the like). */
  env?: Record<string, string | undefined>;
}

/** Replicas of the service on one world (one bucket, one Google), by the names the spec gave them. */
export type ReplicasBehindS3Proxy<Name extends string> = {
  readonly world: World;
  /** The fault proxy in front of the world's S3. */
  readonly s3: FaultProxy;
} & { readonly [N in Name]: Service };

interface Started<Name extends string> {
  world: World;
  s3: FaultProxy;
  replicas: Record<Name, Service>;
}

/**
 * Sets up the describe block that calls it to run on a BehindS3Proxy: started before all its tests, the proxy's
 * faults cleared and Google's refresh token rotation off after each (what a test turned on never reaches the next
 * test), stopped after all. Hooks the spec declares after this call run after these, so a spec's own beforeAll
 * already finds the service. The returned getters read what beforeAll started; read before that, they throw rather
 * than hand a test undefined.
 */
export function useAppBehindS3Proxy(overrides: Record<string, string | undefined> = {}): BehindS3Proxy {
  return useReplicasBehindS3Proxy({ sut: { throughProxy: true, env: overrides } });
}

/**
 * useAppBehindS3Proxy for several replicas on one bucket, named by the spec (`{ refreshing: { throughProxy: true },
 * revoking: {} }`), started in that order before all tests and stopped in that order after them (then the proxy,
 * then the world). After each test the proxy's faults are cleared and Google's refresh token rotation is back off,
 * so neither reaches the next test. Read the handles inside hooks and tests only (getters, as useAppBehindS3Proxy's).
 */
export function useReplicasBehindS3Proxy<Name extends string>(replicas: Record<Name, ReplicaSettings>): ReplicasBehindS3Proxy<Name> {
  for (const reserved of ['world', 's3']) if (reserved in replicas) throw new Error(`useReplicasBehindS3Proxy: "${reserved}" names the world's part, not a replica`);
  let started: Started<Name> | undefined;
  beforeAll(async () => {
    started = await startReplicasBehindS3Proxy(replicas);
  });
  afterEach(() => {
    started?.world.google.rotateRefreshTokens(false);
    started?.s3.clear();
  });
  afterAll(() => stopReplicas(started?.world, started?.s3, Object.values<Service>(started?.replicas ?? {})));
  const get = (): Started<Name> => {
    if (!started) throw new Error('useReplicasBehindS3Proxy: read before its beforeAll started the service (or that start failed)');
    return started;
  };
  const handles = {
    get world() {
      return get().world;
    },
    get s3() {
      return get().s3;
    },
  };
  for (const name of Object.keys(replicas) as Name[]) Object.defineProperty(handles, name, { get: () => get().replicas[name], enumerable: true });
  return handles as ReplicasBehindS3Proxy<Name>;
}

/**
 * Starts a world, an S3 fault proxy in front of its S3, and a service with S3_ENDPOINT at the proxy and `overrides`
 * (S3_TIMEOUT_MS and the like); stopBehindS3Proxy stops them. When a step fails, what already started is stopped
 * before the error is thrown: the caller never got it, so its afterAll could not. For a spec whose overrides exist only
 * once its own beforeAll ran (a certificate it generates); others call useAppBehindS3Proxy.
 */
export async function startBehindS3Proxy(overrides: Record<string, string | undefined>): Promise<BehindS3Proxy> {
  const { world, s3, replicas } = await startReplicasBehindS3Proxy({ sut: { throughProxy: true, env: overrides } });
  return { world, s3, sut: replicas.sut };
}

/** Stops what startBehindS3Proxy started: the service first, then the proxy, then the world, so nothing is left calling a stopped S3. */
export async function stopBehindS3Proxy(world: World | undefined, s3: FaultProxy | undefined, sut: Service | undefined): Promise<void> {
  await stopReplicas(world, s3, sut ? [sut] : []);
}

/** Starts the world, the proxy and the replicas in the order named; on a failure, stops what started and throws. */
async function startReplicasBehindS3Proxy<Name extends string>(settings: Record<Name, ReplicaSettings>): Promise<Started<Name>> {
  const world = await startWorld();
  let s3: FaultProxy | undefined;
  const replicas = {} as Record<Name, Service>;
  try {
    s3 = await FaultProxy.start(world.s3.endpoint);
    for (const [name, { throughProxy, env }] of Object.entries<ReplicaSettings>(settings)) {
      replicas[name as Name] = await startService(world, throughProxy ? { S3_ENDPOINT: s3.url, ...env } : env);
    }
    return { world, s3, replicas };
  } catch (err) {
    await stopReplicas(world, s3, Object.values<Service>(replicas)).catch(() => undefined); // the start's error is the one to see
    throw err;
  }
}

/**
 * The replicas first (in order), then the proxy, then the world, so nothing is left calling a stopped S3; each one
 * even when closing one before it failed.
 */
function stopReplicas(world: World | undefined, s3: FaultProxy | undefined, replicas: Service[]): Promise<void> {
  return closeInOrder(...replicas.map((replica) => () => replica.close()), s3 && (() => s3.stop()), world && (() => world.close()));
}
