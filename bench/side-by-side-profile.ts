import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { selfMicros, type SelfTimes } from './profile.js';
import type { ProbedService } from './seeded-processes.js';
import { hammerTokens } from './session-requests.js';

/** One function's (or package's) self time per request on each side, µs. */
export interface GapLine {
  name: string;
  withAll: number;
  control: number;
}

/** Where the side-by-side gap goes: both replicas profiled over one round each, self time per request compared. */
export interface GapProfile {
  /** The two .cpuprofile files, relative to the repository (speedscope or Chrome DevTools open them). */
  files: { withAll: string; control: string };
  requests: { withAll: number; control: number };
  /** Main-thread CPU per request in the profiles (idle left out), µs. */
  profiledMicrosPerRequest: { withAll: number; control: number };
  /** The largest differences per request, the replica holding all sessions minus the control. */
  byPackage: GapLine[];
  byFunction: GapLine[];
}

const perRequest = (times: SelfTimes, requests: number) => new Map([...times].map(([k, v]) => [k, v / requests]));
const total = (times: SelfTimes) => [...times.values()].reduce((a, b) => a + b, 0);

/** The `n` keys whose per-request self time differs most between the two sides (largest absolute difference first). */
function largestDifferences(all: SelfTimes, control: SelfTimes, n: number): GapLine[] {
  const names = new Set([...all.keys(), ...control.keys()]);
  const round = (v: number) => Math.round(v * 100) / 100;
  return [...names]
    .map((name) => ({ name, withAll: round(all.get(name) ?? 0), control: round(control.get(name) ?? 0) }))
    .sort((a, b) => Math.abs(b.withAll - b.control) - Math.abs(a.withAll - a.control))
    .slice(0, n);
}

/**
 * After the judged rounds (which run unprofiled): one more round on each replica with both profiled, so that the
 * figures say what the replica holding every session spends per request that the control does not. The profiles
 * start and stop together; each side's idle time while the other one runs is left out.
 */
export async function profileSideBySide(
  withAll: ProbedService,
  control: ProbedService,
  tokens: string[],
  opts: { connections: number; seconds: number; dir: string; repoRoot: string },
): Promise<GapProfile> {
  mkdirSync(opts.dir, { recursive: true });
  const files = { withAll: join(opts.dir, 'sessions-all-live.cpuprofile'), control: join(opts.dir, 'sessions-control.cpuprofile') };
  await Promise.all([withAll.startProfile(), control.startProfile()]);
  let served: { withAll: number; control: number };
  try {
    const a = await hammerTokens(withAll.url, '/auth/session', tokens, opts.connections, opts.seconds);
    const c = await hammerTokens(control.url, '/auth/session', tokens, opts.connections, opts.seconds);
    if (a.failures || c.failures) throw new Error(`profiled rounds: ${a.failures} and ${c.failures} failed requests`);
    served = { withAll: a.requests, control: c.requests };
  } finally {
    await Promise.all([withAll.writeProfile(files.withAll), control.writeProfile(files.control)]);
  }
  const all = selfMicros(files.withAll);
  const ctl = selfMicros(files.control);
  const byFn = { withAll: perRequest(all.byFunction, served.withAll), control: perRequest(ctl.byFunction, served.control) };
  const byPkg = { withAll: perRequest(all.byPackage, served.withAll), control: perRequest(ctl.byPackage, served.control) };
  return {
    files: { withAll: relative(opts.repoRoot, files.withAll), control: relative(opts.repoRoot, files.control) },
    requests: { withAll: Math.round(served.withAll), control: Math.round(served.control) },
    profiledMicrosPerRequest: { withAll: Math.round(total(byPkg.withAll) * 10) / 10, control: Math.round(total(byPkg.control) * 10) / 10 },
    byPackage: largestDifferences(byPkg.withAll, byPkg.control, 8),
    byFunction: largestDifferences(byFn.withAll, byFn.control, 12),
  };
}
