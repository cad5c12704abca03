import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, serviceEnv, type World } from '../test/support/harness.js';
import { productionRuntimeEnv } from './image-runtime.js';
import { extraNodeArgs, SERVICE_MAIN } from './processes.js';
import type { SeededWorldRequest } from './seeded-world.process.js';
import type { BenchUser, WorldInfo } from './world.process.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Request/answer over a child's IPC channel (messages carry an id; answers echo it). */
function asker(child: ChildProcess) {
  let next = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
    if (m.id === undefined) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w?.reject(new Error(m.error));
    else w?.resolve(m.result);
  });
  return <T>(request: Record<string, unknown>) =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...request, id });
    });
}

/** The S3 server (on a folder the bench seeds) and the Google emulator, in their own process. */
export class SeededWorld {
  private constructor(
    private readonly child: ChildProcess,
    private readonly ask: ReturnType<typeof asker>,
    readonly info: WorldInfo,
  ) {}

  static async start(directory: string, bucket: string): Promise<SeededWorld> {
    const child = fork(join(here, 'seeded-world.process.js'), [], {
      execArgv: ['--openssl-legacy-provider'],
      env: { ...process.env, BENCH_S3_DIRECTORY: directory, BENCH_S3_BUCKET: bucket },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const ask = asker(child);
    const info = await new Promise<WorldInfo>((resolve, reject) => {
      child.on('message', (m: { ready?: WorldInfo }) => m.ready && resolve(m.ready));
      child.once('exit', (code) => reject(new Error(`the S3/Google process exited with ${code} before it was ready`)));
    });
    return new SeededWorld(child, ask, info);
  }

  signIn(serviceUrl: string, email: string): Promise<BenchUser> {
    return this.ask<BenchUser>({ op: 'signIn', serviceUrl, email } satisfies Omit<Extract<SeededWorldRequest, { op: 'signIn' }>, 'id'>);
  }

  /** Requests the S3 server has received so far, by method and key folder (`GET sessions`). */
  s3Requests(): Promise<Record<string, number>> {
    return this.ask<Record<string, number>>({ op: 's3Requests' });
  }

  /** Milliseconds the S3 server has spent answering so far, by the kinds of `s3Requests`. */
  s3Millis(): Promise<Record<string, number>> {
    return this.ask<Record<string, number>>({ op: 's3Millis' });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.ask({ op: 'stop' }).catch(() => undefined);
    await exited;
  }
}

/** The service's memory after a forced full GC (bytes). */
export interface MemoryReading {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Of heapTotal, what V8 holds for its young generation (new space and new large objects). */
  youngGeneration?: number;
  /** V8's old space: what it holds and what of it live objects use. */
  oldSpace?: { held: number; used: number };
  /** Main-thread GC pauses since the process started: major (mark-compact, incremental steps) and minor (scavenges). */
  gc?: { majorMs: number; minorMs: number; majors: number; minors: number };
  /** CPU time (user + system, every thread) since the process started, µs. */
  cpuMicros?: number;
}

/**
 * The built service (`node main.js`, its own process, as in production) with bench/memory-probe.js preloaded and an
 * IPC channel, so the bench can read its memory after a forced GC. It runs with the image's memory settings
 * (NODE_OPTIONS, MALLOC_ARENA_MAX from the Dockerfile, image-runtime.ts), as the image runs it. `readyMs`: spawn to the first 200 of
 * /health/ready, polled every 10 ms.
 */
export class ProbedService {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly readyMs: number,
  ) {}

  static async start(world: WorldInfo, opts: { logFile: string; env?: Record<string, string>; main?: string }): Promise<ProbedService> {
    const port = await freePort();
    const metricsPort = await freePort();
    const env = { PATH: process.env.PATH ?? '', ...productionRuntimeEnv(), ...serviceEnv(world as unknown as World, port, { METRICS_PORT: String(metricsPort), ...opts.env }) } as NodeJS.ProcessEnv;
    const log = openSync(opts.logFile, 'a');
    const probe = pathToFileURL(join(here, 'memory-probe.js')).href;
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, ['--openssl-legacy-provider', ...extraNodeArgs(), '--expose-gc', '--import', probe, opts.main ?? SERVICE_MAIN], { env, stdio: ['ignore', log, log, 'ipc'] });
    closeSync(log);
    const url = `http://127.0.0.1:${port}`;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}; see ${opts.logFile}`);
      if (await fetch(`${url}/health/ready`).then((r) => r.status === 200, () => false)) break;
      if (performance.now() - spawnedAt > 30_000) throw new Error(`the service was not ready within 30 s; see ${opts.logFile}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return new ProbedService(child, url, performance.now() - spawnedAt);
  }

  /** process.memoryUsage() of the service after two forced full GCs. */
  memory(): Promise<MemoryReading> {
    return this.ask('memory', true);
  }

  /** process.memoryUsage() of the service as it is, no collection forced. */
  memoryWithoutGc(): Promise<MemoryReading> {
    return this.ask('memory without gc', false);
  }

  /** Starts a CPU profile of the service's main thread (bench/memory-probe.ts). */
  startProfile(): Promise<void> {
    return this.askProfiler('profile start', 'started');
  }

  /** Stops the profile started by startProfile and writes it to `file` (a .cpuprofile). */
  writeProfile(file: string): Promise<void> {
    return this.askProfiler({ profileTo: file }, 'written');
  }

  private async askProfiler(message: string | { profileTo: string }, expected: string): Promise<void> {
    const m = await this.reply<{ profiling: string; error?: string }>(message, 'profiling');
    if (m.profiling !== expected) throw new Error(`the service's profiler: ${m.error ?? m.profiling}`);
  }

  private async ask(message: string, forcedGc: boolean): Promise<MemoryReading> {
    const m = await this.reply<{ memory: MemoryReading; forcedGc: boolean }>(message, 'memory');
    if (m.forcedGc !== forcedGc) throw new Error('the service was started without --expose-gc');
    return m.memory;
  }

  /** Sends `message` to the probe and waits for its first reply carrying `key` (each kind of reply has its own). */
  private reply<T>(message: string | object, key: string): Promise<T> {
    return new Promise((resolve) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (!m?.[key]) return;
        this.child.off('message', onMessage);
        resolve(m as T);
      };
      this.child.on('message', onMessage);
      this.child.send(message);
    });
  }

  /** SIGTERM, and waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      this.child.once('exit', () => (clearTimeout(kill), resolve()));
      this.child.kill('SIGTERM');
    });
  }
}
