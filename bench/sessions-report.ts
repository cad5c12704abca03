import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ColdStartResults } from './cold-start.bench.js';
import type { ChurnResults } from './session-churn.js';
import type { SessionsBenchResults } from './sessions.bench.js';
import type { SessionsMemoryResults } from './sessions-memory.bench.js';
import type { GapLine, GapProfile } from './side-by-side-profile.js';
import type { MemoryReading } from './seeded-processes.js';

/** When and on what a target was measured. */
type RunContext = Pick<SessionsBenchResults, 'date' | 'machine' | 'users' | 'seedSeconds'>;

/** bench/results.json's `sessions` key: each target with its own run, so running one keeps the other's figures. */
export interface StoredSessionsResults {
  target5?: { run: RunContext; memory: SessionsMemoryResults; churn: ChurnResults };
  target6?: { run: RunContext; coldStart: ColdStartResults };
}

const BEGIN = '<!-- bench-sessions:begin (written by `npm run bench`, targets 5 and 6; edit outside these markers) -->';
const END = '<!-- bench-sessions:end -->';

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const met = (ok: boolean) => (ok ? 'met' : '**not met**');
const row = (label: string, m: MemoryReading) => `| ${label} | ${mb(m.rss)} MB | ${mb(m.heapUsed)} MB | ${mb(m.heapTotal)} MB | ${mb(m.external)} MB |`;

const signed = (v: number) => `${v >= 0 ? '+' : ''}${v}`;

/** The churn's growth from the seeded start (before any churn) to the end; reported beside the judged stretch. */
function fromStartLine(c: ChurnResults): string {
  const g = c.fromStart;
  if (!g) return '';
  return ` From the first reading, on the freshly seeded heap before any churn, to the end: heap ${signed(g.heapGrowthMb)} MB (trend ${signed(g.heapTrendMb)}), RSS ${signed(g.rssGrowthMb)} MB (trend ${signed(g.rssTrendMb)}): ${g.met ? 'flat' : 'not flat'} by the same bound.`;
}

/** What the judged stretch of the churn was: after its warm-up, or (older runs) all of it. */
function judgedLine(c: ChurnResults): string {
  const trend = c.heapTrendMb === undefined ? '' : ` (the line fitted through its readings: heap ${signed(c.heapTrendMb)} MB, RSS ${signed(c.rssTrendMb ?? 0)} MB)`;
  const settled = c.warmupSettled ? 'once the old space had settled into the churn' : 'at the warm-up cap, the old space not yet settled';
  const stretch = c.warmupSeconds ? `the ${c.seconds} s from ${c.warmupSeconds} s into the churn (${settled})` : 'the whole churn';
  return `Over ${stretch}: heap after GC ${signed(c.heapGrowthMb)} MB, RSS ${signed(c.rssGrowthMb)} MB from its first reading to its last${trend}; flat = within ${c.flatBoundMb} MB, 10% of the heap (RSS: or 10% of RSS): ${met(c.met)}.`;
}

function runLines(r: RunContext): string[] {
  const m = r.machine;
  return [
    `Measured ${r.date} on ${m.cpus} × ${m.model}, ${m.memoryGb} GB, Node ${m.node}; load average before ${m.loadBefore.map((x) => x.toFixed(2)).join(' / ')}, after ${m.loadAfter.map((x) => x.toFixed(2)).join(' / ')}.`,
    ...(m.serviceRuntime ? [`The service process ran with the production memory settings (the image's, then the Kubernetes Deployment's): ${Object.entries(m.serviceRuntime).map(([k, v]) => `\`${k}=${v}\``).join(', ')}.`] : []),
    `Bucket seeded with ${n0(r.users)} users (credentials, one live session and its index entry each: ${n0(r.users * 3)} objects) in ${r.seedSeconds.toFixed(1)} s.`,
    '',
  ];
}

/** The profiled pair of rounds: what the replica holding every session spends per request that the control does not. */
function gapLine(g: GapProfile, users: number): string {
  const diff = (ls: GapLine[]) => ls.map((l) => `${l.name.replace(/\|/g, '\\|')} ${l.withAll.toFixed(1)} vs ${l.control.toFixed(1)}`).join('; ');
  return (
    `- Where the gap goes: one more round on each replica with both profiled (${g.requests.withAll.toLocaleString('en-US')} and ${g.requests.control.toLocaleString('en-US')} requests; \`${g.files.withAll}\`, \`${g.files.control}\`): ` +
    `main-thread CPU ${g.profiledMicrosPerRequest.withAll} µs/request with ${n0(users)} live against ${g.profiledMicrosPerRequest.control} for the control. ` +
    `Largest differences in self time per request (µs, all live vs control), by package: ${diff(g.byPackage)}. By function: ${diff(g.byFunction.slice(0, 8))}.`
  );
}

/** Targets 5 and 6 as Markdown: memory, throughput, churn samples, cold starts. */
export function sessionsMarkdown(stored: StoredSessionsResults): string {
  const lines: string[] = [];
  const mem = stored.target5?.memory;
  if (stored.target5 && mem) {
    const r = stored.target5.run;
    const t = mem.throughput;
    const best = (rs: typeof t.with100) => rs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    lines.push(
      '### Target 5: live sessions in one process',
      '',
      ...runLines(r),
      `| reading (after a forced GC) | RSS | heap used | heap held by V8 | external |`,
      '|---|---|---|---|---|',
      row('idle, right after boot', mem.idle),
      ...(mem.idleSettled ? [row(`idle, settled (${mem.idleSettled.afterSeconds} s later)`, mem.idleSettled)] : []),
      row('100 sessions live (settled)', mem.before),
      row(`${n0(mem.sessionsAdded + 100)} sessions live, right after the burst of first requests`, mem.after),
      ...(mem.afterSettled ? [row(`${n0(mem.sessionsAdded + 100)} sessions live, settled (${mem.afterSettled.afterSeconds} s later)`, mem.afterSettled)] : []),
      '',
      `- Idle RSS: ${mb((mem.idleSettled ?? mem.idle).rss)} MB once settled, ${mb(mem.idle.rss)} MB right after boot (target ≤ ${mem.idleRssTargetMb} MB, judged settled): ${met(mem.idleRssMet)}.`,
      `- Growth per session (${n0(mem.sessionsAdded)} sessions touched once each, in ${mem.touchSeconds.toFixed(0)} s, all still live): heap ${n0(mem.perSession.heapBytes)} B, RSS ${n0(mem.perSession.rssBytes)} B once settled${mem.perSession.burstRssBytes !== undefined ? `, RSS ${n0(mem.perSession.burstRssBytes)} B right after the burst` : ''} (target ≤ ${mem.perSession.targetBytes} B each, judged settled): ${met(mem.perSession.met)}.`,
      `- \`GET /auth/session\` over the 100 hot bearers, ${t.connections} connections, ${t.with100.length} rounds of ${t.seconds} s: with 100 sessions live best ${n0(best(t.with100).perSecond)}/s (rounds ${t.with100.map((x) => n0(x.perSecond)).join(', ')}; p50 ${best(t.with100).p50} ms), with ${n0(r.users)} live best ${n0(best(t.withAll).perSecond)}/s (rounds ${t.withAll.map((x) => n0(x.perSecond)).join(', ')}; p50 ${best(t.withAll).p50} ms): ratio ${t.ratioBest.toFixed(2)} best, ${t.ratioMedian.toFixed(2)} median${t.sideBySide ? ' (minutes apart: not judged, see the next line)' : ` (target ≥ ${t.target}): ${met(t.met)}`}. S3 requests during those rounds: ${JSON.stringify(t.s3DuringWithAll)}.`,
    );
    if (t.sideBySide) {
      const s = t.sideBySide;
      lines.push(
        `- Side by side (judged): the same bearers, rounds alternating between this replica and a second one holding only the 100 hot sessions: with ${n0(r.users)} live best ${n0(best(s.withAll).perSecond)}/s (rounds ${s.withAll.map((x) => n0(x.perSecond)).join(', ')}), control best ${n0(best(s.control).perSecond)}/s (rounds ${s.control.map((x) => n0(x.perSecond)).join(', ')}): ratio ${s.ratioBest.toFixed(2)} best, ${s.ratioMedian.toFixed(2)} median (target ≥ ${t.target}): ${met(t.met)}.`,
      );
      const spent = (rs: typeof s.control) =>
        rs.map((x) => (x.cpuMicrosPerRequest === undefined ? '–' : `${n0(x.cpuMicrosPerRequest)} µs CPU/request, GC pauses ${n0(x.gcMajorMs ?? 0)} ms major (${x.gcMajors}) + ${n0(x.gcMinorMs ?? 0)} ms minor`)).join('; ');
      if (s.control.some((x) => x.cpuMicrosPerRequest !== undefined)) {
        lines.push(`- What each side-by-side round cost the service process, with ${n0(r.users)} live: ${spent(s.withAll)}. Control: ${spent(s.control)}.`);
      }
      if (s.gapProfile) lines.push(gapLine(s.gapProfile, r.users));
    }
    if (t.everyUserOnce) {
      const e = t.everyUserOnce;
      lines.push(`- For reference (no target): every request a different one of the ${n0(r.users)} users: ${n0(e.perSecond)}/s, p50 ${e.p50} ms; S3 requests ${JSON.stringify(e.s3)}.`);
    }
    lines.push('');
  }
  const c = stored.target5?.churn;
  if (c) {
    lines.push(
      `Session churn for ${(c.warmupSeconds ?? 0) + c.seconds} s: ${n0(c.created)} sessions created (${c.achievedPerSecond}/s, asked ${c.ratePerSecond}/s; ${c.signIns} of them by a real Google sign-in), ${n0(c.loggedOut)} ended by logout, ${n0(c.expired)} expired (${c.lifetimeSeconds} s lifetime); ${c.unexpected} unexpected answers. ${judgedLine(c)}${fromStartLine(c)}`,
      '',
      '| t (s) | RSS MB | heap used MB | heap held by V8 MB | of it young generation MB | old space held / used MB | external MB | sessions created | ended |',
      '|---|---|---|---|---|---|---|---|---|',
      ...c.samples.map((s) => `| ${s.atSeconds} | ${s.rssMb} | ${s.heapUsedMb} | ${s.heapTotalMb ?? '–'} | ${s.youngGenerationMb ?? '–'} | ${s.oldSpaceMb === undefined ? '–' : `${s.oldSpaceMb} / ${s.oldSpaceUsedMb}`} | ${s.externalMb ?? '–'} | ${n0(s.sessionsCreated)} | ${n0(s.sessionsEnded)} |`),
      '',
    );
  }
  const cs = stored.target6?.coldStart;
  if (stored.target6 && cs) {
    const kinds = (s3: Record<string, number>) => Object.entries(s3).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
    lines.push(
      `### Target 6: a cold replica on a bucket of ${n0(cs.usersInBucket)} users`,
      '',
      ...runLines(stored.target6.run),
      `- Spawn to \`/health/ready\` 200: ${cs.readyMs.map((x) => `${n0(x)} ms`).join(', ')} (median ${n0(cs.readyMsMedian)} ms; target ≤ ${cs.readyTargetMs} ms, no listing or preloading; \`GET health\` is the bucket check's and the readiness probe's read of a key that does not exist, \`PUT health\` and \`DELETE health\` the check that S3 honours conditional writes): ${met(cs.readyMet)}. S3 requests from spawn to ready, per start: ${cs.s3DuringBoot.map(kinds).join(' | ')}.`,
      ...(cs.s3MsDuringBoot?.length
        ? [`- Of each start, the time the test S3 server took to answer the boot's requests: ${cs.s3MsDuringBoot.map((x) => `${n0(x)} ms`).join(', ')} (the bucket check's and the readiness probe's GET of a missing key, and since 2026-12-07 the conditional-write check's three PUTs and one DELETE; until 2026-12-02 both were one-key listings, which s3rver answers by walking every stored key: 0.7–1.2 s of each start on this bucket). The target is judged on the whole spawn-to-ready time, this included.`]
        : []),
      ...(cs.unbundledReadyMs?.length && cs.unbundledReadyMsMedian
        ? [`- Baseline in the same run, the same code unbundled (\`main.js\` and its ~1,800 module files, as production started before the bundle), each right after a bundled start: ${cs.unbundledReadyMs.map((x) => `${n0(x)} ms`).join(', ')} (median ${n0(cs.unbundledReadyMsMedian)} ms): the bundle starts in ${(cs.readyMsMedian / cs.unbundledReadyMsMedian).toFixed(2)} of its time.`]
        : []),
      `- First request of ${cs.firstRequests.length} users (\`GET /auth/session\`, one at a time on the fresh replicas), S3 requests each: ${[...new Set(cs.firstRequests.map((f) => `${f.status} with ${kinds(f.s3)}`))].join('; ')} (target: exactly one GET of the session and one of the credentials): ${met(cs.firstRequestMet)}.`,
      '',
    );
  }
  return lines.join('\n');
}

/** Puts the sessions figures between their own markers in BENCHMARKS.md (appended when the markers are missing). */
export function writeSessionsSection(file: string, figures: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = old.indexOf(BEGIN);
  const end = old.indexOf(END);
  const next = start >= 0 && end > start ? `${old.slice(0, start + BEGIN.length)}\n${figures}\n${old.slice(end)}` : `${old}\n${BEGIN}\n${figures}\n${END}\n`;
  writeFileSync(file, next);
}

/**
 * Adds this run's targets to bench/results.json under `sessions`, keeping the other benches' keys and the figures of
 * a target this run skipped; returns what is stored now.
 */
export function writeSessionsResults(file: string, r: SessionsBenchResults): StoredSessionsResults {
  const old = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const run: RunContext = { date: r.date, machine: r.machine, users: r.users, seedSeconds: r.seedSeconds };
  const stored: StoredSessionsResults = { ...(old.sessions as StoredSessionsResults | undefined) };
  if (r.memory && r.churn) stored.target5 = { run, memory: r.memory, churn: r.churn };
  if (r.coldStart) stored.target6 = { run, coldStart: r.coldStart };
  writeFileSync(file, `${JSON.stringify({ ...old, sessions: stored }, null, 2)}\n`);
  return stored;
}

/** The console summary of targets 5 and 6. */
export function printSessionsSummary(r: SessionsBenchResults): void {
  const mem = r.memory;
  if (mem) {
    console.log(`target 5: idle RSS ${mb((mem.idleSettled ?? mem.idle).rss)} MB settled, ${mb(mem.idle.rss)} MB right after boot (${mem.idleRssMet ? 'met' : 'NOT MET'}); per session heap ${n0(mem.perSession.heapBytes)} B, RSS ${n0(mem.perSession.rssBytes)} B (${mem.perSession.met ? 'met' : 'NOT MET'}); throughput ratio ${(mem.throughput.sideBySide ?? mem.throughput).ratioBest.toFixed(2)} (${mem.throughput.met ? 'met' : 'NOT MET'})`);
  }
  if (r.churn) console.log(`target 5 churn: ${judgedLine(r.churn).replace(/\*\*/g, '')}${fromStartLine(r.churn)}`);
  const cs = r.coldStart;
  if (cs) console.log(`target 6: ready median ${n0(cs.readyMsMedian)} ms (${cs.readyMet ? 'met' : 'NOT MET'}; unbundled baseline ${n0(cs.unbundledReadyMsMedian ?? NaN)} ms); first request S3 GETs ${cs.firstRequestMet ? 'one session + one credentials (met)' : 'NOT as targeted'}`);
}
