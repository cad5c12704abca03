import type { LoadFigures } from './load.js';
import { median } from './load.js';
import { type MemoryReading, ProbedService, type SeededWorld } from './seeded-processes.js';
import type { SeededUser } from './seed.js';
import { s3Delta } from './cold-start.bench.js';
import { callWithBearer, eachConcurrently, hammerTokens } from './session-requests.js';
import { type GapProfile, profileSideBySide } from './side-by-side-profile.js';

/** Target 5's memory and throughput figures (the churn is in session-churn.ts). */
export interface SessionsMemoryResults {
  /** Right after boot, before any request (forced GC), in bytes. */
  idle: MemoryReading;
  /** The idle process once its memory settled (settledMemory); target 120 MB of RSS. */
  idleSettled?: SettledReading;
  idleRssTargetMb: number;
  idleRssMet: boolean;
  /** With the 100 hot sessions live (settled), right after the other sessions were touched once, and settled again. */
  before: MemoryReading;
  after: MemoryReading;
  afterSettled?: SettledReading;
  sessionsAdded: number;
  touchSeconds: number;
  /** Growth per added session, bytes, with every session still live: once settled (the target), and right after the burst. */
  perSession: { heapBytes: number; rssBytes: number; targetBytes: number; met: boolean; burstRssBytes?: number };
  /** GET /auth/session over the 100 hot bearers, with 100 live sessions and then with all live. */
  throughput: {
    connections: number;
    seconds: number;
    with100: LoadFigures[];
    withAll: LoadFigures[];
    /** Best round with all live / best round with 100. */
    ratioBest: number;
    ratioMedian: number;
    /**
     * The judged pair: rounds alternating between this replica (all sessions live) and a second replica holding only
     * the 100 hot sessions (the control), so that both see the same machine. Absent in older results.
     */
    sideBySide?: { control: MeasuredRound[]; withAll: MeasuredRound[]; ratioBest: number; ratioMedian: number; gapProfile?: GapProfile };
    target: number;
    /** Judged on sideBySide's best rounds when present, else on ratioBest. */
    met: boolean;
    /** S3 requests during the all-live rounds (the hot sessions are re-checked every SESSION_CACHE_TTL_MS). */
    s3DuringWithAll: Record<string, number>;
    /** For reference, not a target: every request a different one of all the users (autocannon cycles them). */
    everyUserOnce?: LoadFigures & { s3: Record<string, number> };
  };
}

const bestOf = (rounds: LoadFigures[]) => rounds.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));

/** `rounds` runs of GET /auth/session over `tokens` after a 2 s warm-up; throws on a failed request. */
async function rounds(service: ProbedService, tokens: string[], n: number, connections: number, seconds: number, label: string): Promise<LoadFigures[]> {
  await hammerTokens(service.url, '/auth/session', tokens, connections, 2);
  const out: LoadFigures[] = [];
  for (let i = 0; i < n; i++) {
    const f = await hammerTokens(service.url, '/auth/session', tokens, connections, seconds);
    if (f.failures) throw new Error(`${label}: ${f.failures} failed requests`);
    out.push(f);
    console.log(`${label}, round ${i + 1}: ${f.perSecond.toFixed(0)}/s p50 ${f.p50} ms p99 ${f.p99} ms`);
  }
  return out;
}

/** A throughput round with what the service process spent on it: CPU per request and main-thread GC pauses. */
export type MeasuredRound = LoadFigures & { cpuMicrosPerRequest?: number; gcMajorMs?: number; gcMinorMs?: number; gcMajors?: number };

/**
 * `n` rounds on each of two services, alternating (and alternating which goes first), after a warm-up of each: the
 * two figures of a pair are taken seconds apart, so a machine that slows down for a minute slows both. Each round
 * also reads the service's CPU and GC counters before and after (bench/memory-probe.ts), to say where a gap goes.
 */
async function alternatingRounds(a: ProbedService, b: ProbedService, tokens: string[], n: number, connections: number, seconds: number, labels: [string, string]): Promise<[MeasuredRound[], MeasuredRound[]]> {
  await hammerTokens(a.url, '/auth/session', tokens, connections, 2);
  await hammerTokens(b.url, '/auth/session', tokens, connections, 2);
  const out: [MeasuredRound[], MeasuredRound[]] = [[], []];
  for (let i = 0; i < n; i++) {
    for (const side of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const service = [a, b][side];
      const before = await service.memoryWithoutGc();
      const f = await hammerTokens(service.url, '/auth/session', tokens, connections, seconds);
      const after = await service.memoryWithoutGc();
      if (f.failures) throw new Error(`${labels[side]}: ${f.failures} failed requests`);
      const requests = f.perSecond * seconds;
      const round: MeasuredRound = {
        ...f,
        cpuMicrosPerRequest: after.cpuMicros !== undefined && before.cpuMicros !== undefined && requests > 0 ? (after.cpuMicros - before.cpuMicros) / requests : undefined,
        gcMajorMs: after.gc && before.gc ? after.gc.majorMs - before.gc.majorMs : undefined,
        gcMinorMs: after.gc && before.gc ? after.gc.minorMs - before.gc.minorMs : undefined,
        gcMajors: after.gc && before.gc ? after.gc.majors - before.gc.majors : undefined,
      };
      out[side].push(round);
      console.log(
        `${labels[side]}, side-by-side round ${i + 1}: ${f.perSecond.toFixed(0)}/s p50 ${f.p50} ms p99 ${f.p99} ms; ` +
          `CPU ${round.cpuMicrosPerRequest?.toFixed(0)} µs/request, GC pauses major ${round.gcMajorMs?.toFixed(0)} ms (${round.gcMajors}), minor ${round.gcMinorMs?.toFixed(0)} ms`,
      );
    }
  }
  return out;
}

/** A reading taken once the process's memory stopped moving, and how long the wait was. */
export interface SettledReading extends MemoryReading {
  afterSeconds: number;
}

/** Readings this far apart, until this long a stretch stays within SETTLED_WITHIN_BYTES of RSS, or at most SETTLE_MAX_MS. */
const SETTLE_STEP_MS = 5_000;
const SETTLE_STABLE_MS = 40_000;
const SETTLE_MAX_MS = 180_000;
const SETTLED_WITHIN_BYTES = 2 ** 20;

/**
 * The memory of a process left alone until it stops shrinking. After a burst of allocation (the boot, 100,000 first
 * requests) V8 keeps the heap it grew into until its memory reducer sees the process idle and gives it back (about
 * 20 s after boot here, with nothing but health probes arriving). RSS is watched without forcing a collection, so
 * the wait is what a replica does on its own; the reading returned is then taken after a forced GC like the others.
 */
async function settledMemory(service: ProbedService, label: string): Promise<SettledReading> {
  const started = performance.now();
  const rss: number[] = [(await service.memoryWithoutGc()).rss];
  const needed = SETTLE_STABLE_MS / SETTLE_STEP_MS + 1;
  for (;;) {
    const last = rss.slice(-needed);
    if (last.length === needed && Math.max(...last) - Math.min(...last) < SETTLED_WITHIN_BYTES) break;
    if (performance.now() - started >= SETTLE_MAX_MS) break;
    await new Promise((r) => setTimeout(r, SETTLE_STEP_MS));
    rss.push((await service.memoryWithoutGc()).rss);
  }
  const settled = { ...(await service.memory()), afterSeconds: Math.round((performance.now() - started) / 1000) };
  console.log(`${label}, settled after ${settled.afterSeconds} s: ${described(settled)}`);
  return settled;
}

/** A memory reading in MB: RSS, the heap used, what V8 holds for its heap, and what lives outside it. */
function described(m: MemoryReading): string {
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  return `RSS ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} MB (V8 holds ${mb(m.heapTotal)} MB), external ${mb(m.external)} MB`;
}

/**
 * Target 5, memory and throughput: the idle service's memory; GET /auth/session throughput over 100 sessions;
 * memory before and after every other seeded user's session is touched once (their first request loads the session
 * and the credentials, as a user's would); the same throughput again with all of them live.
 */
export async function sessionsMemoryBench(
  service: ProbedService,
  world: SeededWorld,
  users: readonly SeededUser[],
  opts: { connections: number; seconds: number; rounds: number; everyUser: boolean; logFile: string; profileDir: string; repoRoot: string },
): Promise<SessionsMemoryResults> {
  const idle = await service.memory();
  console.log(`idle after boot: ${described(idle)}`);
  const hot = users.slice(0, 100);
  const rest = users.slice(100);
  /** A user's request on a replica (the first one loads their session and credentials). */
  const touchOn = (replica: ProbedService) => async (u: SeededUser) => {
    const status = await callWithBearer(`${replica.url}/auth/session`, u.token);
    if (status !== 200) throw new Error(`GET /auth/session for ${u.email} on ${replica.url} answered ${status}`);
  };
  const touch = touchOn(service);
  await eachConcurrently(hot, 16, touch);
  const hotTokens = hot.map((u) => u.token);
  const idleSettled = await settledMemory(service, 'idle');
  const with100 = await rounds(service, hotTokens, opts.rounds, opts.connections, opts.seconds, '100 sessions');
  const before = await settledMemory(service, '100 sessions live');

  const touchStarted = performance.now();
  let done = 0;
  await eachConcurrently(rest, 32, async (u) => {
    await touch(u);
    if (++done % 20_000 === 0) console.log(`touched ${done} sessions (${((performance.now() - touchStarted) / 1000).toFixed(0)} s)`);
  });
  const touchSeconds = (performance.now() - touchStarted) / 1000;
  const after = await service.memory();
  const added = rest.length;
  console.log(`${added} sessions touched in ${touchSeconds.toFixed(1)} s; before: ${described(before)}; right after: ${described(after)}`);
  const afterSettled = await settledMemory(service, `${users.length} sessions live`);
  const perSession = {
    heapBytes: (afterSettled.heapUsed - before.heapUsed) / added,
    rssBytes: (afterSettled.rss - before.rss) / added,
    burstRssBytes: (after.rss - before.rss) / added,
    targetBytes: 1536,
    met: false,
  };
  perSession.met = perSession.heapBytes <= perSession.targetBytes && perSession.rssBytes <= perSession.targetBytes;
  console.log(`per session: heap +${perSession.heapBytes.toFixed(0)} B, RSS +${perSession.rssBytes.toFixed(0)} B once settled (+${perSession.burstRssBytes.toFixed(0)} B right after the burst)`);

  const s3Before = await world.s3Requests();
  const withAll = await rounds(service, hotTokens, opts.rounds, opts.connections, opts.seconds, `${users.length} sessions`);
  const s3DuringWithAll = s3Delta(s3Before, await world.s3Requests());
  // The rounds above are minutes apart from the 100-session ones, and on these shared cores a round's throughput
  // swings 1.6-1.8x within minutes: more than the 10% being judged. So the judged pair is taken side by side, this
  // replica against a second one that holds only the 100 hot sessions.
  const control = await ProbedService.start(world.info, { logFile: opts.logFile });
  let sideBySide: NonNullable<SessionsMemoryResults['throughput']['sideBySide']>;
  try {
    await eachConcurrently(hot, 16, touchOn(control));
    const [sideAll, sideControl] = await alternatingRounds(service, control, hotTokens, opts.rounds, opts.connections, opts.seconds, [`${users.length} sessions`, 'control, 100 sessions']);
    sideBySide = {
      control: sideControl,
      withAll: sideAll,
      ratioBest: bestOf(sideAll).perSecond / bestOf(sideControl).perSecond,
      ratioMedian: median(sideAll.map((r) => r.perSecond)) / median(sideControl.map((r) => r.perSecond)),
    };
    sideBySide.gapProfile = await profileSideBySide(service, control, hotTokens, { connections: opts.connections, seconds: opts.seconds, dir: opts.profileDir, repoRoot: opts.repoRoot });
    const g = sideBySide.gapProfile;
    console.log(`profiled pair: main-thread CPU ${g.profiledMicrosPerRequest.withAll} vs ${g.profiledMicrosPerRequest.control} µs/request; largest differences: ${g.byFunction.slice(0, 5).map((l) => `${l.name} ${l.withAll} vs ${l.control}`).join('; ')}`);
  } finally {
    await control.stop();
  }
  let everyUserOnce: SessionsMemoryResults['throughput']['everyUserOnce'];
  if (opts.everyUser) {
    const s3b = await world.s3Requests();
    const f = await hammerTokens(service.url, '/auth/session', users.map((u) => u.token), opts.connections, opts.seconds);
    everyUserOnce = { ...f, s3: s3Delta(s3b, await world.s3Requests()) };
    console.log(`every request a different user: ${f.perSecond.toFixed(0)}/s p50 ${f.p50} ms; S3 ${JSON.stringify(everyUserOnce.s3)}`);
  }
  const ratioBest = bestOf(withAll).perSecond / bestOf(with100).perSecond;
  const ratioMedian = median(withAll.map((r) => r.perSecond)) / median(with100.map((r) => r.perSecond));
  return {
    idle,
    idleSettled,
    idleRssTargetMb: 120,
    idleRssMet: idleSettled.rss <= 120 * 2 ** 20,
    before,
    after,
    afterSettled,
    sessionsAdded: added,
    touchSeconds,
    perSession,
    throughput: { connections: opts.connections, seconds: opts.seconds, with100, withAll, ratioBest, ratioMedian, sideBySide, target: 0.9, met: sideBySide.ratioBest >= 0.9, s3DuringWithAll, everyUserOnce },
  };
}
