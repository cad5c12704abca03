import { join } from 'node:path';
import { sessionsBench } from './sessions.bench.js';
import { printSessionsSummary, sessionsMarkdown, writeSessionsResults, writeSessionsSection } from './sessions-report.js';

/**
 * Targets 5 and 6 (BENCH_ONLY `sessions`, `cold-start`, or both, comma separated; default both), scaled by BENCH_SESSION_USERS (100000),
 * BENCH_CHURN_SECONDS (600, judged once the heap settled into the churn, after at most BENCH_CHURN_MAX_WARMUP_SECONDS, 900), BENCH_CHURN_RATE (100 new sessions/s), BENCH_SESSION_SECONDS (5 s per round),
 * BENCH_SESSION_ROUNDS (3) and BENCH_CONNECTIONS (32). Adds `sessions` to bench/results.json and its own section to
 * BENCHMARKS.md.
 */
export async function runSessionsBenches(root: string, benchOnly?: string): Promise<void> {
  const env = process.env;
  const wanted = new Set((benchOnly ?? 'sessions,cold-start').split(','));
  const results = await sessionsBench({
    outDir: join(root, 'bench'),
    only: wanted.has('sessions') && wanted.has('cold-start') ? undefined : wanted.has('sessions') ? 'sessions' : 'cold-start',
    users: Number(env.BENCH_SESSION_USERS ?? 100_000),
    connections: Number(env.BENCH_CONNECTIONS ?? 32),
    seconds: Number(env.BENCH_SESSION_SECONDS ?? 5),
    rounds: Number(env.BENCH_SESSION_ROUNDS ?? 3),
    churnSeconds: Number(env.BENCH_CHURN_SECONDS ?? 600),
    churnMaxWarmupSeconds: Number(env.BENCH_CHURN_MAX_WARMUP_SECONDS ?? 900),
    churnRate: Number(env.BENCH_CHURN_RATE ?? 100),
  });
  printSessionsSummary(results);
  const stored = writeSessionsResults(join(root, 'bench', 'results.json'), results);
  writeSessionsSection(join(root, 'BENCHMARKS.md'), sessionsMarkdown(stored));
  console.log('wrote the sessions figures to bench/results.json and BENCHMARKS.md');
}
