import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blackBoxBench } from './black-box.bench.js';
import { clientCacheBench } from './client-cache.bench.js';
import { hotPathBench } from './hot-path.bench.js';
import { figuresMarkdown, printSummary, writeBenchmarksMd } from './report.js';
import { runSessionsBenches } from './sessions.run.js';
import { readResults, targetBenches } from './target-benches.js';

// The repository root: this file runs from .local-build/bench/run.js.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * `npm run bench`: the black-box benchmark (service, world and load generator in separate processes; writes
 * bench/results.json and the figures in BENCHMARKS.md), then the in-process client-cache memory bench and the
 * in-process hot-path bench. BENCH_SECONDS, BENCH_CONNECTIONS and BENCH_ROUNDS scale the black-box run;
 * BENCH_ONLY=black-box skips the in-process ones. Between them, targets 4 and 7 of issue 14 (target-benches.ts);
 * BENCH_ONLY=refresh-storm or BENCH_ONLY=own-time runs only that one. Then targets 5 and 6 (sessions.run.ts), alone with
 * BENCH_ONLY=sessions, cold-start or sessions,cold-start.
 */
async function main(): Promise<void> {
  const env = process.env;
  if (await targetBenches(ROOT, env.BENCH_ONLY)) return; // BENCH_ONLY=refresh-storm or own-time
  if (/^(sessions|cold-start)/.test(env.BENCH_ONLY ?? '')) return runSessionsBenches(ROOT, env.BENCH_ONLY);
  const results = await blackBoxBench({
    seconds: Number(env.BENCH_SECONDS ?? 5),
    connections: Number(env.BENCH_CONNECTIONS ?? 32),
    rounds: Number(env.BENCH_ROUNDS ?? 3),
    outDir: join(ROOT, 'bench'),
  });
  results.profile.file = relative(ROOT, results.profile.file); // the repository's path, not this machine's
  printSummary(results);
  mkdirSync(join(ROOT, 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify({ ...readResults(ROOT), ...results }, null, 2)}\n`); // other benches' keys kept
  writeBenchmarksMd(join(ROOT, 'BENCHMARKS.md'), figuresMarkdown(results));
  console.log('wrote bench/results.json and BENCHMARKS.md');
  if (env.BENCH_ONLY === 'black-box') return;
  await targetBenches(ROOT, 'all');
  await runSessionsBenches(ROOT); // targets 5 and 6
  await clientCacheBench(Number(env.BENCH_CACHE_USERS ?? 10_000));
  await hotPathBench(Number(env.BENCH_REQUESTS ?? 3000), 16);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
