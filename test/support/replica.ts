import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { imageEnv } from '../../bench/image-runtime.js';
import { freePorts, serviceEnv, type World } from './harness.js';

const BUILD_DIR = '.local-build/replica-dist';

/**
 * The node binary replica processes run on: SERVICE_NODE when set (`npm run test:e2e:image-node` sets it to the
 * production image's Node, scripts/image-node.mjs, and SERVICE_NODE_VERSION to the version the service must then
 * report), else the one running the tests.
 */
export function serviceNode(): string {
  return process.env.SERVICE_NODE || process.execPath;
}

/**
 * What a replica's environment starts from before the world's settings: on the image's Node (SERVICE_NODE), the
 * variables the image sets (the Dockerfile's ENV lines: NODE_ENV=production, MALLOC_ARENA_MAX, ...), read from the
 * Dockerfile so the two cannot drift; a spec's own settings replace them, as a Deployment's env replaces the
 * image's. Elsewhere only PATH, as before.
 */
export function replicaBaseEnv(): Record<string, string> {
  return { ...(process.env.SERVICE_NODE ? imageEnv() : {}), PATH: process.env.PATH ?? '' };
}

/** What the replicas' bundle is made from: every file under src/, the build's settings and the installed packages. */
const BUILD_INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle-service.mjs', 'node_modules/.package-lock.json'];

/** A hash of the paths and bytes of the build's inputs: equal hashes, the same bundle. */
function buildInputsHash(): string {
  const hash = createHash('sha256');
  for (const input of BUILD_INPUTS) {
    if (!existsSync(input)) {
      hash.update(`${input}: missing\n`);
      continue;
    }
    const files = statSync(input).isDirectory()
      ? readdirSync(input, { withFileTypes: true, recursive: true })
          .filter((e) => e.isFile())
          .map((e) => join(e.parentPath, e.name))
      : [input];
    for (const file of files.sort()) hash.update(`${file}\n`).update(readFileSync(file)).update('\n');
  }
  return hash.digest('hex');
}

/**
 * Compiles and bundles src/ for the replica processes (they run `node main.bundle.mjs`, like production), or returns
 * the bundle already built from the same inputs: each spec that starts replicas calls it, and a compile takes 20-40 s
 * on a loaded 2-core machine.
 */
export function buildForReplicas(): string {
  const main = join(BUILD_DIR, 'main.bundle.mjs');
  const stamp = join(BUILD_DIR, '.inputs.sha256');
  const inputs = buildInputsHash();
  if (existsSync(main) && existsSync(stamp) && readFileSync(stamp, 'utf8') === inputs) return main;
  rmSync(stamp, { force: true }); // a build that fails half-way leaves no stamp to trust
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/bundle-service.mjs', join(BUILD_DIR, 'main.js')], { stdio: 'inherit' });
  if (!existsSync(main)) throw new Error(`build produced no ${main}`);
  writeFileSync(stamp, inputs);
  return main;
}

/** A service replica in its own process. */
export interface Replica {
  url: string;
  /** The process id (its environment: /proc/<pid>/environ). */
  pid: number;
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
  const [port, metricsPort] = await freePorts(2);
  const env = { ...replicaBaseEnv(), ...serviceEnv(world, port, { METRICS_PORT: String(metricsPort), ...overrides }) } as NodeJS.ProcessEnv;
  // No flags of the harness's own: the image runs `node dist/main.bundle.mjs` (the legacy OpenSSL provider that the
  // tests' NODE_OPTIONS load is for s3rver, which runs in the test process, not for the service).
  const child: ChildProcess = spawn(serviceNode(), [...nodeFlags, main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    pid: child.pid as number,
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
