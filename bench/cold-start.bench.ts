import { CONDITIONAL_CHECK_PREFIX, PROBE_KEY } from '../src/storage/probe-key.js';
import { median } from './load.js';
import { SERVICE_MAIN_UNBUNDLED } from './processes.js';
import { ProbedService, type SeededWorld } from './seeded-processes.js';
import { callWithBearer } from './session-requests.js';
import type { SeededUser } from './seed.js';

/** Target 6 as measured: a replica starting cold on the seeded bucket. */
export interface ColdStartResults {
  usersInBucket: number;
  /** Spawn to the first 200 of /health/ready, per start (ms). */
  readyMs: number[];
  readyMsMedian: number;
  readyTargetMs: number;
  /**
   * Median within the target, and during boot no listing and no object read (preload): only requests under `health/`,
   * the probe's read of a missing key and the conditional-write check's puts and delete of its own object.
   */
  readyMet: boolean;
  /**
   * The baseline, measured in the same run, each start right after a bundled one: the same compiled code started
   * from its ~1,800 module files (`main.js`), as production did before the bundle. Absent in older results.
   */
  unbundledReadyMs?: number[];
  unbundledReadyMsMedian?: number;
  /**
   * Per bundled start, of its spawn-to-ready time: what the S3 server took to answer the boot's requests (the
   * bucket check's and the readiness probe's GET of a missing key, the conditional-write check's puts and delete).
   */
  s3MsDuringBoot?: number[];
  /** S3 requests from spawn to ready, by method and key folder (a listing or preload would show here). */
  s3DuringBoot: Record<string, number>[];
  /** Per user's first request (GET /auth/session on the fresh replica): the S3 requests it caused, by kind. */
  firstRequests: Array<{ status: number; s3: Record<string, number> }>;
  firstRequestMet: boolean;
}

/** The S3 requests a boot may make, by method and key folder: all on the `health/` keys (probe-key.ts). */
const HEALTH = PROBE_KEY.split('/')[0];
const BOOT_REQUESTS = [`GET ${HEALTH}`, `PUT ${HEALTH}`, `DELETE ${HEALTH}`];
if (!CONDITIONAL_CHECK_PREFIX.startsWith(`${HEALTH}/`)) throw new Error('the conditional-write check left health/: update BOOT_REQUESTS');

/** The difference of two S3 request tallies (kinds that did not change are left out). */
export function s3Delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, n] of Object.entries(after)) if (n - (before[kind] ?? 0) > 0) out[kind] = n - (before[kind] ?? 0);
  return out;
}

/**
 * Target 6: `starts` cold replicas on the seeded bucket; each is timed from spawn to ready, with the S3 requests it
 * made meanwhile, then `usersPerStart` users (never seen by that replica) make their first request, one at a time,
 * each counted at the S3 server. Nothing else talks to S3 meanwhile. After each, the unbundled build starts once,
 * timed the same way: the baseline of the same run.
 */
export async function coldStartBench(world: SeededWorld, users: readonly SeededUser[], opts: { logFile: string; starts: number; usersPerStart: number }): Promise<ColdStartResults> {
  const readyMs: number[] = [];
  const s3DuringBoot: Record<string, number>[] = [];
  const firstRequests: ColdStartResults['firstRequests'] = [];
  const unbundledReadyMs: number[] = [];
  const s3MsDuringBoot: number[] = [];
  for (let start = 0; start < opts.starts; start++) {
    const before = await world.s3Requests();
    const millisBefore = await world.s3Millis();
    const service = await ProbedService.start(world.info, { logFile: opts.logFile });
    try {
      s3DuringBoot.push(s3Delta(before, await world.s3Requests()));
      s3MsDuringBoot.push(Object.values(s3Delta(millisBefore, await world.s3Millis())).reduce((a, b) => a + b, 0));
      readyMs.push(service.readyMs);
      // Users spread over the whole bucket, different for every start.
      for (let k = 0; k < opts.usersPerStart; k++) {
        const user = users[Math.floor(((start * opts.usersPerStart + k + 0.5) / (opts.starts * opts.usersPerStart)) * users.length)];
        const s3Before = await world.s3Requests();
        const status = await callWithBearer(`${service.url}/auth/session`, user.token);
        firstRequests.push({ status, s3: s3Delta(s3Before, await world.s3Requests()) });
      }
    } finally {
      await service.stop();
    }
    const unbundled = await ProbedService.start(world.info, { logFile: opts.logFile, main: SERVICE_MAIN_UNBUNDLED });
    unbundledReadyMs.push(unbundled.readyMs);
    await unbundled.stop();
    console.log(`cold start ${start + 1}: ready in ${readyMs[start].toFixed(0)} ms, of which S3 answering ${s3MsDuringBoot[start].toFixed(0)} ms (unbundled, right after: ${unbundled.readyMs.toFixed(0)} ms); S3 during boot ${JSON.stringify(s3DuringBoot[start])}`);
  }
  const readyMsMedian = median(readyMs);
  const exactlyTwo = (s3: Record<string, number>) => Object.keys(s3).length === 2 && s3['GET sessions'] === 1 && s3['GET credentials'] === 1;
  return {
    usersInBucket: users.length,
    readyMs,
    readyMsMedian,
    readyTargetMs: 2000,
    readyMet: readyMsMedian <= 2000 && s3DuringBoot.every((b) => Object.keys(b).every((k) => BOOT_REQUESTS.includes(k))),
    unbundledReadyMs,
    unbundledReadyMsMedian: median(unbundledReadyMs),
    s3MsDuringBoot,
    s3DuringBoot,
    firstRequests,
    firstRequestMet: firstRequests.every((r) => r.status === 200 && exactlyTwo(r.s3)),
  };
}
