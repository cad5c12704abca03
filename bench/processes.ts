import { fork, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { freePort, serviceEnv, type World } from '../test/support/harness.js';
import type { BarePorts } from './bare.process.js';
import { productionRuntimeEnv } from './image-runtime.js';
import type { BenchUser, WorldInfo, WorldRequest } from './world.process.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const here = dirname(fileURLToPath(import.meta.url));
/** The service as production starts it: `npm run bench` compiles src/ next to the bench and bundles it (scripts/bundle-service.mjs). */
export const SERVICE_MAIN = join(here, '..', 'src', 'main.bundle.mjs');
/**
 * The same code unbundled, for comparing the two (`BENCH_SERVICE_BUILD=unbundled`, the cold-start baseline). The CPU
 * profiles run the bundle, as production does; bench/profile.ts maps its frames back to their files.
 */
export const SERVICE_MAIN_UNBUNDLED = join(here, '..', 'src', 'main.js');

/**
 * Node flags added to every service process the bench starts, from BENCH_SERVICE_NODE_ARGS (space separated): for
 * trying a V8 setting (say `--trace-gc`) on the same load before it goes into the image or the Deployment.
 */
export function extraNodeArgs(): string[] {
  return (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

/** A forked helper process that answers requests over IPC. */
class Ipc {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error) w?.reject(new Error(m.error));
      else w?.resolve(m.result);
    });
  }

  ask<T>(request: Record<string, unknown>): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...request, id });
    });
  }
}

function ready<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    child.on('message', (m: { ready?: T }) => m.ready && resolve(m.ready));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before it was ready`)));
  });
}

/** The S3 server and the Google emulator, in their own process. */
export class WorldProcess {
  private constructor(
    private readonly ipc: Ipc,
    readonly info: WorldInfo,
  ) {}

  /** `googleTokenTtlSeconds`: the lifetime of the access tokens the Google emulator issues (default one hour). */
  static async start(opts: { googleTokenTtlSeconds?: number } = {}): Promise<WorldProcess> {
    const env = { ...process.env, BENCH_GOOGLE_TOKEN_TTL_S: String(opts.googleTokenTtlSeconds ?? '') };
    const child = fork(join(here, 'world.process.js'), [], { env, execArgv: ['--openssl-legacy-provider'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    return new WorldProcess(new Ipc(child), await ready<WorldInfo>(child, 'the S3/Google process'));
  }

  /** The process id (the benchmark reads the CPU the emulator used). */
  get pid(): number {
    return this.ipc.child.pid as number;
  }

  signIn(serviceUrl: string, email: string): Promise<BenchUser> {
    return this.ipc.ask<BenchUser>({ op: 'signIn', serviceUrl, email } satisfies Omit<Extract<WorldRequest, { op: 'signIn' }>, 'id'>);
  }

  /** Requests the S3 server has received so far, by method and key folder (`GET sessions`). */
  s3Requests(): Promise<Record<string, number>> {
    return this.ipc.ask<Record<string, number>>({ op: 's3Requests' });
  }

  /** Any other operation of world.process.ts (WorldRequest without its id). */
  ask<T>(request: DistributiveOmit<WorldRequest, 'id'>): Promise<T> {
    return this.ipc.ask<T>(request);
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.ipc.child.once('exit', r));
    await this.ipc.ask({ op: 'stop' }).catch(() => undefined);
    await exited;
  }
}

/** A baseline server process: the bare node:http ones (bare.process.ts) or the framework floor (framework.process.ts). */
export class BareProcess<P = BarePorts> {
  private constructor(
    private readonly child: ChildProcess,
    readonly ports: P,
  ) {}

  /** `nodeArgs`: extra node options for the process (the call-phase preload); by default this process's own. */
  static async start(env: Record<string, string>, nodeArgs?: string[]): Promise<BareProcess> {
    return BareProcess.fork<BarePorts>('bare.process.js', env, nodeArgs);
  }

  /** NestJS on Fastify with one empty controller: what the framework itself costs. */
  static async framework(): Promise<BareProcess<{ framework: number }>> {
    return BareProcess.fork<{ framework: number }>('framework.process.js', {});
  }

  private static async fork<P>(file: string, env: Record<string, string>, nodeArgs?: string[]): Promise<BareProcess<P>> {
    const execArgv = nodeArgs && [...process.execArgv, ...nodeArgs];
    const child = fork(join(here, file), [], { env: { PATH: process.env.PATH ?? '', ...env }, execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    return new BareProcess<P>(child, await ready<P>(child, `the baseline process ${file}`));
  }

  /** The process id (the benchmark signals the call-phase preload with it). */
  get pid(): number {
    return this.child.pid as number;
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send('stop');
    await exited;
  }
}

/**
 * The built service, `node main.bundle.mjs` in its own process as in production, with the image's memory settings
 * (image-runtime.ts); its log lines go to `logFile`.
 */
export class ServiceProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    /** GET /metrics, on the process's own METRICS_PORT. */
    readonly metricsUrl: string,
  ) {}

  static async start(world: WorldInfo, opts: { logFile: string; nodeArgs?: string[]; env?: Record<string, string>; main?: string }): Promise<ServiceProcess> {
    const port = await freePort();
    const metricsPort = await freePort();
    const env = { PATH: process.env.PATH ?? '', ...productionRuntimeEnv(), ...serviceEnv(world as unknown as World, port, { METRICS_PORT: String(metricsPort), ...opts.env }) } as NodeJS.ProcessEnv;
    const log = openSync(opts.logFile, 'a');
    // BENCH_SERVICE_BUILD=unbundled runs every service process from the unbundled build, to compare the two.
    const unbundled = process.env.BENCH_SERVICE_BUILD === 'unbundled';
    const child = spawn(process.execPath, ['--openssl-legacy-provider', ...extraNodeArgs(), ...(opts.nodeArgs ?? []), opts.main ?? (unbundled ? SERVICE_MAIN_UNBUNDLED : SERVICE_MAIN)], { env, stdio: ['ignore', log, log] });
    closeSync(log);
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}; see ${opts.logFile}`);
      if (await fetch(`${url}/health/live`).then((r) => r.ok, () => false)) break;
      if (i > 400) throw new Error(`the service did not start; see ${opts.logFile}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return new ServiceProcess(child, url, `http://127.0.0.1:${metricsPort}/metrics`);
  }

  /** The process id (the benchmark signals the call-phase preload with it). */
  get pid(): number {
    return this.child.pid as number;
  }

  /** SIGTERM, and waits for the exit (a --cpu-prof profile is written then). */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

