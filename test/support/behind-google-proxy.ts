import { FaultProxy, type FaultRule } from './fault-proxy.js';
import { closeInOrder, googleThrough, signIn, startService, startWorld, type Service, type World } from './harness.js';

/** What a Google fault spec runs on: a world, a fault proxy in front of its Google emulator, and a service that reaches Google through it. */
export interface BehindGoogleProxy {
  world: World;
  /** The fault proxy in front of the world's Google emulator. */
  proxy: FaultProxy;
  /** A service instance whose Google API, token and revocation URLs are the proxy's (googleThrough). */
  sut: Service;
}

/** A spec's environment overrides, or a function that builds them once the proxy runs (a URL of Google's rewritten to the proxy). */
export type GoogleProxyOverrides = Record<string, string | undefined> | ((world: World, proxy: FaultProxy) => Record<string, string | undefined>);

/**
 * Sets up the describe block that calls it to run on a BehindGoogleProxy: started before all its tests, the proxy's
 * faults cleared after each (what a test injected never reaches the next test), stopped after all (the service, then
 * the proxy, then the world). `overrides` (GOOGLE_HTTP_TIMEOUT_MS, GOOGLE_SCOPES and the like) come after
 * googleThrough, so a spec can route more of Google through the proxy. Hooks the spec declares after this call run
 * after these: its own beforeAll already finds the service, its own afterAll runs once the service is closed (declare
 * it before this call to close a client first). The returned getters read what beforeAll started; read before that,
 * they throw rather than hand a test undefined.
 */
export function useAppBehindGoogleProxy(overrides: GoogleProxyOverrides = {}): BehindGoogleProxy {
  let started: BehindGoogleProxy | undefined;
  beforeAll(async () => {
    started = await startBehindGoogleProxy(overrides);
  });
  afterEach(() => started?.proxy.clear());
  afterAll(() => stopBehindGoogleProxy(started));
  const get = (): BehindGoogleProxy => {
    if (!started) throw new Error('useAppBehindGoogleProxy: read before its beforeAll started the service (or that start failed)');
    return started;
  };
  return {
    get world() {
      return get().world;
    },
    get proxy() {
      return get().proxy;
    },
    get sut() {
      return get().sut;
    },
  };
}

/** Starts the world, the proxy and the service; when a step fails, stops what started before throwing (the caller's afterAll never got it). */
async function startBehindGoogleProxy(overrides: GoogleProxyOverrides): Promise<BehindGoogleProxy> {
  const world = await startWorld();
  let proxy: FaultProxy | undefined;
  try {
    proxy = await FaultProxy.start(world.google.baseUrl);
    const env = typeof overrides === 'function' ? overrides(world, proxy) : overrides;
    const sut = await startService(world, { ...googleThrough(world, proxy), ...env });
    return { world, proxy, sut };
  } catch (err) {
    const started = proxy;
    await closeInOrder(started && (() => started.stop()), () => world.close()).catch(() => undefined);
    throw err;
  }
}

/** The service first, then the proxy, then the world, so nothing is left calling a stopped Google; each one even when one before it failed. */
function stopBehindGoogleProxy(started: BehindGoogleProxy | undefined): Promise<void> {
  if (!started) return Promise.resolve();
  return closeInOrder(() => started.sut.close(), () => started.proxy.stop(), () => started.world.close());
}

/** Which of Google's answers a fault applies to (method, path, query), and the fault itself. */
type Match = Pick<FaultRule, 'method' | 'path' | 'query'>;

/**
 * Signs `email` in and downloads their Drive file number `fileIndex` (the emulator's seeded files) through the REST
 * route while `fault` applies to every Google answer `match` names; the caller gives up after `patienceMs`. `since`:
 * when the fault was set, for timing the service's answer and its cancellations.
 */
export async function downloadDriveFileWhile(app: BehindGoogleProxy, email: string, fileIndex: number, match: Match, fault: Omit<FaultRule, keyof Match>, patienceMs: number) {
  const user = await signIn(app.sut, app.world, email);
  const fileId = app.world.google.itemIds('drive', email)[fileIndex];
  const since = Date.now();
  app.proxy.inject({ ...match, ...fault, times: Infinity });
  const res = await fetch(`${app.sut.url}/v1/users/me/drive/files/${fileId}/content`, {
    headers: { authorization: `Bearer ${user.access_token}` },
    signal: AbortSignal.timeout(patienceMs),
  });
  return { res, since, user, fileId };
}
