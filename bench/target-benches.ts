import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { clientStackBench, clientStackMarkdown } from './client-stack.bench.js';
import { ownTimeBench, ownTimeMarkdown } from './own-time.bench.js';
import { refreshStormBench, refreshStormMarkdown } from './refresh-storm.bench.js';
import { contextLine, runContext, writeMarkedBlock, writeResultsKey } from './target-report.js';

const BENCHES = ['refresh-storm', 'own-time', 'client-stack'] as const;

/** bench/results.json as it is now ({} when there is none). */
export function readResults(root: string): Record<string, unknown> {
  const file = join(root, 'bench', 'results.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
}

/**
 * Targets 4 (refresh storm) and 7 (own time of sign-in and revoke) of issue 14, and the Google client stack's cost
 * per layer (the floor under target 3). `which`: 'all', or a BENCH_ONLY
 * value; returns false (running nothing) for any other value. Each writes its key of bench/results.json and its
 * block of BENCHMARKS.md. BENCH_STORM_USERS, BENCH_STORM_CALLS_PER_USER and BENCH_OWN_TIME_USERS scale them.
 */
export async function targetBenches(root: string, which: string | undefined): Promise<boolean> {
  const run = BENCHES.filter((b) => which === 'all' || which === b);
  if (run.length === 0) return false;
  const env = process.env;
  const out = join(root, 'bench');
  const results = join(out, 'results.json');
  const md = join(root, 'BENCHMARKS.md');
  if (run.includes('refresh-storm')) {
    const r = await refreshStormBench({ users: Number(env.BENCH_STORM_USERS ?? 100), callsPerUser: Number(env.BENCH_STORM_CALLS_PER_USER ?? 10), outDir: out });
    writeResultsKey(results, 'refreshStorm', r);
    writeMarkedBlock(md, 'refresh-storm', refreshStormMarkdown(r));
  }
  if (run.includes('own-time')) {
    const r = await ownTimeBench({ users: Number(env.BENCH_OWN_TIME_USERS ?? 200), warmUp: 20, steadyAfter: Number(env.BENCH_OWN_TIME_STEADY_AFTER ?? 800), outDir: out });
    r.profile.file = relative(root, r.profile.file); // the repository's path, not this machine's
    writeResultsKey(results, 'ownTime', r);
    writeMarkedBlock(md, 'own-time', ownTimeMarkdown(r));
  }
  if (run.includes('client-stack')) {
    const context = runContext();
    const layers = await clientStackBench(Number(env.BENCH_SECONDS ?? 5) / 2, 2, join(out, '.service.log'));
    for (const l of layers) console.log(`client stack: ${l.layer.padEnd(55)} ${Math.round(l.perSecond).toString().padStart(6)}/s ${l.cpuMicrosPerCall.toFixed(0).padStart(5)} µs CPU per call`);
    writeResultsKey(results, 'clientStack', { ...context.finish(), layers });
    writeMarkedBlock(md, 'client-stack', clientStackMarkdown(layers, contextLine(context.finish())));
  }
  console.log(`wrote ${run.join(' and ')} into bench/results.json and BENCHMARKS.md`);
  return true;
}
