import type { ProbedService, MemoryReading, SeededWorld } from './seeded-processes.js';
import { newSessionId, type BucketSeeder, type SeededUser, type TokenMinter } from './seed.js';
import { callWithBearer } from './session-requests.js';

/** One memory reading during the churn. */
export interface ChurnSample {
  atSeconds: number;
  rssMb: number;
  heapUsedMb: number;
  /** What V8 holds for its heap (used or not) and what lives outside it (Buffers, sockets): where RSS growth sits. */
  heapTotalMb?: number;
  /** Of heapTotalMb, the young generation: V8 sizes it to the allocation rate. */
  youngGenerationMb?: number;
  /** V8's old space, held and used: where the churn's sessions live and die. */
  oldSpaceMb?: number;
  oldSpaceUsedMb?: number;
  externalMb?: number;
  sessionsCreated: number;
  sessionsEnded: number;
}

/** How the memory moved over a stretch of the churn, and whether that counts as flat. */
export interface ChurnGrowth {
  /** The first reading of the stretch (seconds into the churn). */
  fromSeconds: number;
  /** Last reading against the first. */
  heapGrowthMb: number;
  rssGrowthMb: number;
  /** What the least-squares line through the stretch's readings rises over it: a trend, not one GC cycle's swing. */
  heapTrendMb: number;
  rssTrendMb: number;
  /** 10% of the heap used at the stretch's first reading. */
  flatBoundMb: number;
  /** Both the last-against-first growth and the trend within the bound (RSS: the bound or 10% of RSS). */
  met: boolean;
}

export interface ChurnResults {
  /** The judged stretch, after the warm-up. */
  seconds: number;
  /** Churn before the judged stretch (see warmedUp): V8 settling its old space, reported apart. */
  warmupSeconds?: number;
  /** Whether the warm-up ended because the old space settled (false: at BENCH_CHURN_MAX_WARMUP_SECONDS). */
  warmupSettled?: boolean;
  /** New sessions per second asked for, and reached (over the whole churn). */
  ratePerSecond: number;
  achievedPerSecond: number;
  lifetimeSeconds: number;
  created: number;
  loggedOut: number;
  expired: number;
  signIns: number;
  /** Answers that were not what a user gets (200 while live, 204 on logout, 401 after logout or expiry). */
  unexpected: number;
  samples: ChurnSample[];
  /** The judged stretch: from the end of the warm-up to the last reading. This decides `met`. */
  heapGrowthMb: number;
  rssGrowthMb: number;
  heapTrendMb?: number;
  rssTrendMb?: number;
  flatBoundMb: number;
  met: boolean;
  /** The same from the first reading, taken on the freshly seeded heap, before any churn. */
  fromStart?: ChurnGrowth;
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const mb = (bytes: number) => round1(bytes / 2 ** 20);

/**
 * Session churn for `seconds`: new sessions arrive at `rate` per second for seeded users (written to S3 in the
 * service's format, with a bearer minted as the service mints them; one in 20 through a real Google sign-in
 * instead). Each is used twice (GET /auth/session), then half end by logout (POST /auth/logout, then the bearer
 * must get 401) and half are left to expire after `lifetime` seconds (their bearer is tried again after that and
 * must get 401). The service's memory is read after a forced GC every `sampleEvery` seconds.
 *
 * Flatness is judged over `seconds` once the heap has settled into the churn (warmedUp): the old space V8 holds
 * has set no new high for WARMED_UP_READINGS readings, at least one session lifetime in (before that the churn's own
 * sessions only add up), at most `maxWarmupSeconds` in (then the judged stretch starts anyway, and a heap that is
 * still rising fails it). Why: the heap the churn starts on is packed tighter than any heap that has lived through
 * churn. 100,000 sessions loaded in one burst sit side by side in V8's old space (92% of it used at the start of
 * the 10:08 run on 2026-12-03); the churn's evictions and expiries leave holes across those pages, and V8 moves a
 * page's survivors only once most of the page is free, so the old space held rises until about half of it is used
 * and then stays level. An 18-minute churn (2026-12-03, 12:27) started on a heap the throughput rounds had
 * already loosened (59% used): RSS 261 → 297 MB by 324 s, then 275–290 MB to 1,080 s, the heap used flat
 * throughout, nothing new when the churn had replaced the whole session cache (1,000 s). A replica in production
 * reaches its sessions through churn, never through a burst, so the settled stretch is what it lives in; the rise
 * from the seeded start is reported beside it (`fromStart`).
 */
export async function sessionChurn(
  service: ProbedService,
  world: SeededWorld,
  seeder: BucketSeeder,
  minter: TokenMinter,
  users: readonly SeededUser[],
  opts: { seconds: number; maxWarmupSeconds: number; rate: number; lifetimeSeconds: number; sampleEverySeconds: number },
): Promise<ChurnResults> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const counts = { created: 0, loggedOut: 0, expired: 0, signIns: 0, unexpected: 0 };
  // Time spent per step, summed (ms): where a churn slower than asked waits.
  const stepMs = { signIn: 0, seed: 0, firstUse: 0, secondUse: 0, logout: 0, afterLogout: 0 };
  const timed = async <T>(step: keyof typeof stepMs, f: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      stepMs[step] += performance.now() - t;
    }
  };
  const expect = (status: number, wanted: number) => {
    if (status !== wanted) counts.unexpected++;
  };
  const samples: ChurnSample[] = [];
  const sample = async () => {
    const m: MemoryReading = await service.memory();
    samples.push({ atSeconds: Math.round(elapsed()), rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), youngGenerationMb: m.youngGeneration === undefined ? undefined : mb(m.youngGeneration), oldSpaceMb: m.oldSpace && mb(m.oldSpace.held), oldSpaceUsedMb: m.oldSpace && mb(m.oldSpace.used), externalMb: mb(m.external), sessionsCreated: counts.created, sessionsEnded: counts.loggedOut + counts.expired });
    const s = samples[samples.length - 1];
    console.log(`churn ${String(s.atSeconds).padStart(4)} s: RSS ${s.rssMb} MB, heap ${s.heapUsedMb} MB (V8 holds ${s.heapTotalMb} MB, young generation ${s.youngGenerationMb ?? '–'} MB of it, old space ${s.oldSpaceMb ?? '–'} MB held / ${s.oldSpaceUsedMb ?? '–'} MB used, external ${s.externalMb} MB), ${s.sessionsCreated} sessions created, ${s.sessionsEnded} ended`);
  };
  const expiring: Array<{ token: string; at: number }> = [];
  const inFlight = new Set<Promise<void>>();
  const url = `${service.url}/auth/session`;

  const oneSession = async (n: number) => {
    const user = users[Math.floor(Math.random() * users.length)];
    const toExpire = n % 2 === 1;
    let token: string;
    if (n % 20 === 0) {
      token = (await timed('signIn', () => world.signIn(service.url, `churn${n % 500}@bench.example.com`))).accessToken;
      counts.signIns++;
    } else {
      const sessionId = newSessionId();
      const now = new Date();
      const expiresAt = new Date(now.getTime() + (toExpire ? opts.lifetimeSeconds : minter.shape.lifetimeSeconds) * 1000);
      token = await timed('seed', () => {
        seeder.writeSession(user.email, sessionId, now, expiresAt);
        return minter.mint(user.email, sessionId, expiresAt);
      });
    }
    counts.created++;
    expect(await timed('firstUse', () => callWithBearer(url, token)), 200);
    expect(await timed('secondUse', () => callWithBearer(url, token)), 200);
    if (toExpire && n % 20 !== 0) {
      expiring.push({ token, at: performance.now() + (opts.lifetimeSeconds + 1) * 1000 });
      return;
    }
    expect(await timed('logout', () => callWithBearer(`${service.url}/auth/logout`, token, 'POST')), 204);
    expect(await timed('afterLogout', () => callWithBearer(url, token)), 401);
    counts.loggedOut++;
  };
  const checkExpired = async () => {
    while (expiring.length > 0 && expiring[0].at <= performance.now()) {
      const { token } = expiring.shift() as { token: string };
      expect(await callWithBearer(url, token), 401);
      counts.expired++;
    }
  };

  await sample();
  let n = 0;
  let nextSample = opts.sampleEverySeconds;
  // When the judged stretch starts: the first reading after which the heap counts as settled (or the cap).
  let judgedFrom: number | undefined;
  let settled = false;
  const end = () => (judgedFrom ?? opts.maxWarmupSeconds) + opts.seconds;
  while (elapsed() < end()) {
    // Paced: the n-th session starts at n / rate seconds; at most 64 in flight (a slower service lowers the rate).
    const due = Math.floor(elapsed() * opts.rate);
    while (n < due && inFlight.size < 64) {
      const p: Promise<void> = oneSession(n++).catch(() => void counts.unexpected++).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await checkExpired();
    if (elapsed() >= nextSample) {
      nextSample += opts.sampleEverySeconds;
      await sample();
      if (judgedFrom === undefined) {
        settled = warmedUp(samples, opts.lifetimeSeconds);
        if (settled || elapsed() >= opts.maxWarmupSeconds) {
          judgedFrom = samples[samples.length - 1].atSeconds;
          console.log(`churn judged from ${judgedFrom} s (${settled ? 'the old space settled' : 'the warm-up cap; the old space had not settled'})`);
        }
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(inFlight);
  const seconds = elapsed();
  await sample();
  console.log(`churn time per step, mean ms: ${Object.entries(stepMs).map(([k, v]) => `${k} ${(v / Math.max(1, k === 'signIn' ? counts.signIns : k === 'logout' || k === 'afterLogout' ? counts.loggedOut : counts.created)).toFixed(1)}`).join(', ')}`);
  const from = judgedFrom ?? 0;
  const judged = samples.filter((s) => s.atSeconds >= from);
  const { fromSeconds: _judgedFrom, ...judgedGrowth } = growth(judged.length >= 2 ? judged : samples);
  return {
    seconds: Math.round(seconds - from),
    warmupSeconds: from,
    warmupSettled: settled,
    ratePerSecond: opts.rate,
    achievedPerSecond: Math.round((counts.created / seconds) * 10) / 10,
    lifetimeSeconds: opts.lifetimeSeconds,
    ...counts,
    samples,
    ...judgedGrowth,
    fromStart: growth(samples),
  };
}

/** Readings in a row without a new high of the old space held that count as settled (30 s apart by default). */
export const WARMED_UP_READINGS = 3;

/**
 * Whether the churn's heap has settled by the last of these readings: at least one session lifetime in, and the
 * old space held (V8's whole heap where the probe cannot tell) has set no new high in the last WARMED_UP_READINGS.
 */
export function warmedUp(readings: readonly ChurnSample[], lifetimeSeconds: number): boolean {
  const last = readings[readings.length - 1];
  if (!last || last.atSeconds < lifetimeSeconds || readings.length <= WARMED_UP_READINGS) return false;
  const held = (r: ChurnSample) => r.oldSpaceMb ?? r.heapTotalMb ?? r.rssMb;
  const before = Math.max(...readings.slice(0, -WARMED_UP_READINGS).map(held));
  return readings.slice(-WARMED_UP_READINGS).every((r) => held(r) <= before);
}

/**
 * How memory moved over these readings (oldest first): last against first, and along the least-squares line. Flat:
 * neither the heap nor RSS after GC grew by more than 10% of the heap used at the first reading (RSS: or 10% of the
 * last RSS, whichever is larger), by either measure.
 */
export function growth(readings: readonly ChurnSample[]): ChurnGrowth {
  const first = readings[0];
  const last = readings[readings.length - 1];
  const heapGrowthMb = round1(last.heapUsedMb - first.heapUsedMb);
  const rssGrowthMb = round1(last.rssMb - first.rssMb);
  const span = last.atSeconds - first.atSeconds;
  const heapTrendMb = round1(slope(readings, (r) => r.heapUsedMb) * span);
  const rssTrendMb = round1(slope(readings, (r) => r.rssMb) * span);
  const flatBoundMb = round1(first.heapUsedMb * 0.1);
  const rssBound = Math.max(flatBoundMb, last.rssMb * 0.1);
  return {
    fromSeconds: first.atSeconds,
    heapGrowthMb,
    rssGrowthMb,
    heapTrendMb,
    rssTrendMb,
    flatBoundMb,
    met: Math.max(heapGrowthMb, heapTrendMb) <= flatBoundMb && Math.max(rssGrowthMb, rssTrendMb) <= rssBound,
  };
}

/** The least-squares slope of `value` over the readings' times (MB per second); 0 for fewer than two readings. */
function slope(readings: readonly ChurnSample[], value: (r: ChurnSample) => number): number {
  const n = readings.length;
  if (n < 2) return 0;
  const meanT = readings.reduce((a, r) => a + r.atSeconds, 0) / n;
  const meanV = readings.reduce((a, r) => a + value(r), 0) / n;
  let num = 0;
  let den = 0;
  for (const r of readings) {
    num += (r.atSeconds - meanT) * (value(r) - meanV);
    den += (r.atSeconds - meanT) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
