import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { JWT_SECRET } from '../test/support/harness.js';
import { coldStartBench, type ColdStartResults } from './cold-start.bench.js';
import { BucketSeeder, prepareBucketDir, seedUsers, TokenMinter } from './seed.js';
import { ProbedService, SeededWorld } from './seeded-processes.js';
import { sessionChurn, type ChurnResults } from './session-churn.js';
import { closeConnections } from './session-requests.js';
import { sessionsMemoryBench, type SessionsMemoryResults } from './sessions-memory.bench.js';
import { productionRuntimeEnv } from './image-runtime.js';

/** What the sessions benchmarks measured (bench/results.json, key `sessions`). */
export interface SessionsBenchResults {
  date: string;
  machine: { cpus: number; model: string; memoryGb: number; node: string; loadBefore: number[]; loadAfter: number[]; serviceRuntime?: Record<string, string> };
  users: number;
  seedSeconds: number;
  memory?: SessionsMemoryResults;
  churn?: ChurnResults;
  coldStart?: ColdStartResults;
}

export interface SessionsBenchOptions {
  outDir: string;
  /** 'sessions' = target 5 only, 'cold-start' = target 6 only, undefined = both. */
  only?: 'sessions' | 'cold-start';
  users: number;
  connections: number;
  seconds: number;
  rounds: number;
  churnSeconds: number;
  /** At most this much churn before the judged `churnSeconds` (see sessionChurn). */
  churnMaxWarmupSeconds: number;
  churnRate: number;
}

/**
 * Targets 5 and 6 of issue 14 on one seeded bucket: `users` users, each with credentials and a live session in the
 * service's S3 format (seeded in the S3 server's storage folder), bearers minted with the service's JWT secret and
 * the claims of a real sign-in. Target 6 (cold replicas) runs first, on the freshly seeded bucket; then target 5
 * (memory, throughput, churn) on one long-running replica.
 */
export async function sessionsBench(opts: SessionsBenchOptions): Promise<SessionsBenchResults> {
  const loadBefore = loadavg();
  const logFile = join(opts.outDir, '.sessions-service.log');
  rmSync(logFile, { force: true });
  // The S3 server's folder in memory (tmpfs) when there is one: seeding 900,000 small files (object, md5, metadata
  // for 300,000 objects) takes ~15 s there against minutes on a disk. BENCH_S3_TMPDIR chooses another place.
  const base = process.env.BENCH_S3_TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const directory = mkdtempSync(join(base, 'bench-s3-'));
  const bucket = 'broker-bench';
  const world = await SeededWorld.start(directory, bucket);
  try {
    // One real sign-in gives the formats: its objects' metadata and its bearer's claims.
    const first = await ProbedService.start(world.info, { logFile });
    const template = await world.signIn(first.url, 'template@bench.example.com').finally(() => first.stop());
    const bucketDir = join(directory, bucket);
    const seeder = new BucketSeeder(bucketDir, { email: 'template@bench.example.com', sessionId: template.sessionId });
    const minter = new TokenMinter(JWT_SECRET, TokenMinter.shapeOf(template.accessToken));
    prepareBucketDir(bucketDir);
    const { users, seconds: seedSeconds } = seedUsers(seeder, minter, opts.users);
    console.log(`seeded ${opts.users} users (credentials, session, index entry: ${opts.users * 3} objects) in ${seedSeconds.toFixed(1)} s`);

    const results: SessionsBenchResults = { date: new Date().toISOString(), machine: machine(loadBefore), users: opts.users, seedSeconds };
    if (opts.only !== 'sessions') results.coldStart = await coldStartBench(world, users, { logFile, starts: 3, usersPerStart: 10 });
    if (opts.only !== 'cold-start') {
      const service = await ProbedService.start(world.info, { logFile });
      try {
        results.memory = await sessionsMemoryBench(service, world, users, { connections: opts.connections, seconds: opts.seconds, rounds: opts.rounds, everyUser: true, logFile, profileDir: join(opts.outDir, 'profile-sessions'), repoRoot: dirname(opts.outDir) });
        results.churn = await sessionChurn(service, world, seeder, minter, users, {
          seconds: opts.churnSeconds,
          maxWarmupSeconds: opts.churnMaxWarmupSeconds,
          rate: opts.churnRate,
          lifetimeSeconds: Math.min(60, Math.max(5, Math.round(opts.churnSeconds / 10))),
          sampleEverySeconds: Math.max(5, Math.round(opts.churnSeconds / 20)),
        });
      } finally {
        await service.stop();
      }
    }
    results.machine.loadAfter = loadavg();
    return results;
  } finally {
    closeConnections();
    await world.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

function machine(loadBefore: number[]): SessionsBenchResults['machine'] {
  return { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore, loadAfter: [], serviceRuntime: productionRuntimeEnv() };
}
