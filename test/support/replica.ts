import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort, serviceEnv, type World } from './harness.js';

const BUILD_DIR = '.local-build/replica-dist';

/** Compiles and bundles src/ once for the replica processes (they run `node main.bundle.mjs`, like production). */
export function buildForReplicas(): string {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/bundle-service.mjs', join(BUILD_DIR, 'main.js')], { stdio: 'inherit' });
  const main = join(BUILD_DIR, 'main.bundle.mjs');
  if (!existsSync(main)) throw new Error(`build produced no ${main}`);
  return main;
}

/** A service replica in its own process. */
export interface Replica {
  url: string;
  /** GET /metrics, on the replica's own METRICS_PORT. */
  metricsUrl: string;
  logs: string[];
  /** What the process wrote to stdout, then to stderr, each as written (logs splits it at each read). */
  rawOutput(): string;
  /** Sends a signal to the process. */
  signal(name: NodeJS.Signals): void;
  /** Resolves with the exit code once the process has ended. */
  exitCode(): Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Starts the built service (`node main.bundle.mjs`) with the world's settings on its own port; resolves once
 * /health/live answers, or stops it and throws when that has not happened within `readyWithinMs`.
 */
export async function startReplica(main: string, world: World, overrides: Record<string, string>, nodeFlags: string[] = [], readyWithinMs = 10_000): Promise<Replica> {
  const port = await freePort();
  const metricsPort = await freePort();
  const env = { PATH: process.env.PATH ?? '', ...serviceEnv(world, port, { METRICS_PORT: String(metricsPort), ...overrides }) } as NodeJS.ProcessEnv;
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', ...nodeFlags, main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const raw = { stdout: '', stderr: '' };
  const reader = (stream: keyof typeof raw) => (d: Buffer) => {
    raw[stream] += d.toString();
    logs.push(...d.toString().split('\n').filter(Boolean));
  };
  child.stdout?.on('data', reader('stdout'));
  child.stderr?.on('data', reader('stderr'));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (const deadline = Date.now() + readyWithinMs; ; ) {
    if (child.exitCode !== null) throw new Error(`replica exited: ${logs.join('\n')}`);
    const ok = await fetch(`${url}/health/live`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      // The caller never gets this replica, so nothing else would stop it: its pipes would keep jest alive.
      child.kill('SIGKILL');
      await exited;
      throw new Error(`replica did not start: ${logs.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    logs,
    rawOutput: () => `${raw.stdout}\n${raw.stderr}`,
    signal: (name) => void child.kill(name),
    exitCode: () => exited,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(); // ended (a kill leaves no exit code)
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
