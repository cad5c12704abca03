import { Agent } from 'node:http';
import { join } from 'node:path';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { selfByPackage, topFrames, type Frame } from './profile.js';
import { quantile, send, type Answer } from './http-once.js';
import { ServiceProcess, WorldProcess } from './processes.js';
import type { ServedRequest } from './served-timing.js';
import { contextLine, ms3, runContext, type RunContext } from './target-report.js';

const TARGET_MS = 5;

/** Percentiles of one quantity over the measured requests, ms. */
export interface Spread {
  p50: number;
  p90: number;
}

/** One endpoint's figures: what the caller saw, what the service waited for, and the rest (its own time). */
export interface OwnTimeFigures {
  what: string;
  requests: number;
  total: Spread;
  /** Time Google and S3 spent on the service's requests, each widened by the loopback allowance. */
  waiting: Spread;
  /** total - waiting, per request. The figure the target is about. */
  own: Spread;
  /** total - the servers' own time only (no loopback allowance): an upper bound of the service's own time. */
  ownNoAllowance: Spread;
  /** S3 time at the S3 server, and as the service's S3 client timed it (its metrics): the gap is AWS SDK work. */
  s3AtServer: Spread;
  s3AsServiceTimedIt: Spread;
  /**
   * CPU the service process used per request (its process_cpu_seconds_total, less what a scrape of /metrics costs):
   * unlike own time, not inflated when other processes hold the CPU, so runs on a busy machine can be compared.
   */
  cpu: Spread;
  /** The upstream requests of the first measured request, in order (`google POST /token`, `s3 PUT /bucket/credentials`). */
  upstream: string[];
  met: boolean;
}

export interface OwnTimeResults extends RunContext {
  /** `steadyAfter`: sign-ins and revokes the service had done before the steady-state requests were counted. */
  settings: { users: number; warmUp: number; steadyAfter: number; targetMs: number };
  /** Round trip on loopback beyond the server's own time, per upstream request (median of 200 calls to the emulator). */
  loopbackAllowanceMs: number;
  /** CPU of the service between two back-to-back scrapes of /metrics (median), subtracted from each request's CPU. */
  scrapeCpuMs: number;
  /** In steady state (after `steadyAfter` flows): the figures the target is judged on. */
  callback: OwnTimeFigures;
  revoke: OwnTimeFigures;
  /** The same requests right after a start (after `warmUp` flows), while V8 has not yet optimised their code. */
  fresh: { callback: OwnTimeFigures; revoke: OwnTimeFigures };
  /** A CPU profile of a second service process doing the same (sign-ins then revokes), samples of that loop only. */
  profile: { file: string; pairs: number; byPackage: Frame[]; topFrames: Frame[] };
}

/**
 * Target 7 (issue 14), black-box: the sign-in callback and the revoke, one request at a time, timed by the caller;
 * the world process times every request its Google emulator and S3 server serve (Node's http.server diagnostics
 * channels), and the time the service spent waiting on them is the union of those intervals within the request,
 * each widened by the loopback round trip beyond a server's own time. Own time = total - waiting.
 */
export async function ownTimeBench(opts: { users: number; warmUp: number; steadyAfter: number; outDir: string }): Promise<OwnTimeResults> {
  const ctx = runContext();
  const logFile = join(opts.outDir, '.own-time.log');
  rmSync(logFile, { force: true });
  const world = await WorldProcess.start();
  let service: ServiceProcess | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    service = await ServiceProcess.start(world.info, { logFile });
    const url = service.url;
    await world.ask({ op: 'timeServed', on: true });
    const allowance = await loopbackAllowance(world, agent);
    const scrapeCpuMs = await scrapeCost(agent, service.metricsUrl);

    // The same service process is measured twice: right after its start, while the code of these requests still
    // runs in V8's first tiers (a replica's first sign-ins after a deploy), and in steady state, once `steadyAfter`
    // flows have gone through it (a replica that has served for a while). The target is judged on the second.
    const first = await signInsAndRevokes(world, agent, url, opts.users, opts.warmUp, 'own', service.metricsUrl);
    const more = Math.max(0, opts.steadyAfter - opts.warmUp - opts.users);
    const steady = await signInsAndRevokes(world, agent, url, opts.users, more, 'own-steady', service.metricsUrl);
    await world.ask({ op: 'timeServed', on: false });
    const both = (t: { signIns: Timed[]; revokes: Timed[] }, when: string) => {
      const callback = figures('GET /auth/google/callback (new user: code exchange, credentials and session stored)', t.signIns, allowance, scrapeCpuMs);
      const revoke = figures('POST /auth/revoke (Google revoke, credentials and sessions deleted)', t.revokes, allowance, scrapeCpuMs);
      for (const f of [callback, revoke]) {
        console.log(`own time ${when}, ${f.what}: total p50 ${ms3(f.total.p50)} ms, waiting p50 ${ms3(f.waiting.p50)} ms, own p50 ${ms3(f.own.p50)} ms (p90 ${ms3(f.own.p90)}; ≤ ${TARGET_MS}: ${f.met ? 'yes' : 'no'}), service CPU p50 ${ms3(f.cpu.p50)} ms`);
      }
      return { callback, revoke };
    };
    const fresh = both(first, `right after the start (after ${opts.warmUp} flows)`);
    const { callback, revoke } = both(steady, `in steady state (after ${opts.steadyAfter} flows; judged)`);
    await service.stop();
    service = undefined;

    // Where the own time goes: a fresh service process with --cpu-prof doing the same, outside the timed run (the
    // profiler costs a little), only the samples of the loop (not the boot) summarised.
    const profileDir = join(opts.outDir, 'profile-own-time');
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
    const spawnedAt = performance.now();
    service = await ServiceProcess.start(world.info, { logFile, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-name=sign-in-revoke.cpuprofile'] });
    await signInsAndRevokes(world, agent, service.url, 0, opts.steadyAfter, 'warm');
    const window = { fromMs: performance.now() - spawnedAt, toMs: 0 };
    const pairs = Math.min(opts.users, 100);
    await signInsAndRevokes(world, agent, service.url, pairs, 0, 'profiled');
    window.toMs = performance.now() - spawnedAt;
    await service.stop();
    service = undefined;
    const file = join(profileDir, readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile')) ?? 'sign-in-revoke.cpuprofile');
    const profile = { file, pairs, byPackage: selfByPackage(file, 14, window), topFrames: topFrames(file, 14, window) };
    return { ...ctx.finish(), settings: { users: opts.users, warmUp: opts.warmUp, steadyAfter: opts.steadyAfter, targetMs: TARGET_MS }, loopbackAllowanceMs: allowance, scrapeCpuMs, callback, revoke, fresh, profile };
  } finally {
    agent.destroy();
    await service?.stop();
    await world.stop();
  }
}

/**
 * `warmUp + users` new users sign in one after the other, then each revokes; the last `users` of each are returned.
 * Only a measured run (given `metricsUrl`) reads /metrics around each request: in the profiled run rendering them would show
 * in the profile.
 */
async function signInsAndRevokes(world: WorldProcess, agent: Agent, url: string, users: number, warmUp: number, prefix: string, metricsUrl?: string): Promise<{ signIns: Timed[]; revokes: Timed[] }> {
  const metrics = metricsUrl ? () => scrape(agent, metricsUrl) : () => Promise.resolve({ s3Ms: 0, cpuMs: 0 });
  const signIns: Timed[] = [];
  const bearers: string[] = [];
  for (let i = 0; i < warmUp + users; i++) {
    const email = `${prefix}-${i}@example.com`;
    const start = await send(agent, `${url}/auth/google?login_hint=${encodeURIComponent(email)}`);
    const location = String(start.headers.location ?? '');
    if (start.status !== 302 || !location) throw new Error(`GET /auth/google: ${start.status} ${start.body}`);
    const callbackUrl = await world.ask<string>({ op: 'approve', authorizeUrl: location, email });
    const timed = await timedRequest(world, metrics, () => send(agent, callbackUrl, { headers: { cookie: cookiesOf(start), accept: 'application/json' } }));
    if (timed.answer.status !== 200) throw new Error(`callback for ${email}: ${timed.answer.status} ${timed.answer.body}`);
    bearers.push((JSON.parse(timed.answer.body) as { access_token: string }).access_token);
    if (i >= warmUp) signIns.push(timed);
  }
  const revokes: Timed[] = [];
  for (let i = 0; i < bearers.length; i++) {
    const timed = await timedRequest(world, metrics, () => send(agent, `${url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${bearers[i]}` } }));
    if (timed.answer.status !== 200 && timed.answer.status !== 201) throw new Error(`revoke ${i}: ${timed.answer.status} ${timed.answer.body}`);
    if (i >= warmUp) revokes.push(timed);
  }
  return { signIns, revokes };
}

/** A request timed by the caller, with the world's requests served meanwhile. */
interface Timed {
  answer: Answer;
  served: ServedRequest[];
  /** The S3 time the service's own metrics recorded meanwhile (its S3 client's view: SDK work included). */
  s3ClientMs: number;
  /** The service's CPU between the scrapes before and after (one scrape's cost included). */
  cpuMs: number;
}

async function timedRequest(world: WorldProcess, metrics: () => Promise<Scrape>, run: () => Promise<Answer>): Promise<Timed> {
  const before = await metrics();
  await world.ask<ServedRequest[]>({ op: 'served' }); // what came before (the consent page, /metrics) is not this request's
  const answer = await run();
  const served = await world.ask<ServedRequest[]>({ op: 'served' });
  const after = await metrics();
  return { answer, served, s3ClientMs: after.s3Ms - before.s3Ms, cpuMs: after.cpuMs - before.cpuMs };
}

interface Scrape {
  /** The sum of broker_s3_operation_duration_seconds over all its labels, ms. */
  s3Ms: number;
  /** broker_process_cpu_seconds_total (user + system), ms. */
  cpuMs: number;
}

/** What the service's /metrics says about its S3 time and its CPU. */
async function scrape(agent: Agent, metricsUrl: string): Promise<Scrape> {
  const text = (await send(agent, metricsUrl)).body;
  let sum = 0;
  for (const m of text.matchAll(/^broker_s3_operation_duration_seconds_sum\{[^}]*\} ([0-9.e+-]+)$/gm)) sum += Number(m[1]);
  const cpu = /^broker_process_cpu_seconds_total ([0-9.e+-]+)$/m.exec(text);
  return { s3Ms: sum * 1000, cpuMs: Number(cpu?.[1] ?? NaN) * 1000 };
}

/** The service's CPU between two back-to-back scrapes (the part of a scrape's own cost each request's figure holds). */
async function scrapeCost(agent: Agent, metricsUrl: string): Promise<number> {
  const deltas: number[] = [];
  for (let i = 0; i < 60; i++) {
    const a = await scrape(agent, metricsUrl);
    const b = await scrape(agent, metricsUrl);
    if (i >= 10) deltas.push(b.cpuMs - a.cpuMs);
  }
  return quantile(deltas, 0.5);
}

/**
 * The loopback round trip beyond a server's own time: 200 sequential GETs to a cheap emulator route, the caller's
 * round trip minus the time the emulator took (headers parsed to answer handed to the socket); the median.
 */
async function loopbackAllowance(world: WorldProcess, agent: Agent): Promise<number> {
  const probe = `${world.info.google.urls.auth.replace(/\/o\/oauth2\/v2\/auth$/, '')}/__emulator/refresh-count`;
  const gaps: number[] = [];
  for (let i = 0; i < 220; i++) {
    await world.ask({ op: 'served' });
    const a = await send(agent, probe);
    const s = (await world.ask<ServedRequest[]>({ op: 'served' })).find((r) => r.path === '/__emulator/refresh-count');
    if (s && i >= 20) gaps.push(a.ms - (s.end - s.start));
  }
  return quantile(gaps, 0.5);
}

/** Milliseconds of [from, to] covered by the intervals (overlapping ones counted once). */
function covered(intervals: Array<[number, number]>, from: number, to: number): number {
  const clipped = intervals.map(([a, b]): [number, number] => [Math.max(a, from), Math.min(b, to)]).filter(([a, b]) => b > a);
  clipped.sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of clipped) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

function figures(what: string, timed: Timed[], allowance: number, scrapeCpuMs: number): OwnTimeFigures {
  const upstreamOf = (t: Timed) => t.served.filter((s) => s.server !== 'other');
  const waitingOf = (t: Timed, widen: number) =>
    covered(
      upstreamOf(t).map((s) => [s.start - widen / 2, s.end + widen / 2]),
      t.answer.startedAt,
      t.answer.endedAt,
    );
  const total = timed.map((t) => t.answer.ms);
  const waiting = timed.map((t) => waitingOf(t, allowance));
  const own = timed.map((t, i) => total[i] - waiting[i]);
  const ownNoAllowance = timed.map((t, i) => total[i] - waitingOf(t, 0));
  const spread = (v: number[]): Spread => ({ p50: quantile(v, 0.5), p90: quantile(v, 0.9) });
  return {
    what,
    requests: timed.length,
    total: spread(total),
    waiting: spread(waiting),
    own: spread(own),
    ownNoAllowance: spread(ownNoAllowance),
    s3AtServer: spread(timed.map((t) => t.served.filter((s) => s.server === 's3').reduce((a, s) => a + (s.end - s.start), 0))),
    s3AsServiceTimedIt: spread(timed.map((t) => t.s3ClientMs)),
    cpu: spread(timed.map((t) => t.cpuMs - scrapeCpuMs)),
    upstream: timed[0] ? upstreamOf(timed[0]).map((s) => `${s.server} ${s.method} ${s.path.replace(/[^/]*(@|%40)[^/]*/g, '{email}').replace(/[\w-]{32,}/g, '{id}')}`) : [],
    met: quantile(own, 0.5) <= TARGET_MS,
  };
}

/** The Cookie header a browser would send back after this answer. */
function cookiesOf(a: Answer): string {
  const set = a.headers['set-cookie'];
  return (Array.isArray(set) ? set : set ? [set] : []).map((c) => c.split(';')[0]).join('; ');
}

/** The section of BENCHMARKS.md. */
export function ownTimeMarkdown(r: OwnTimeResults): string {
  const idle = r.profile.byPackage.find((f) => f.name === '(idle)')?.selfPercent ?? 0;
  const busy = (f: Frame) => (f.name.startsWith('(idle)') ? '–' : ((f.selfPercent / (100 - idle)) * 100).toFixed(1));
  const row = (f: OwnTimeFigures, when: string, judged: boolean) =>
    `| ${f.what}, ${when} | ${f.requests} | ${ms3(f.total.p50)} / ${ms3(f.total.p90)} | ${ms3(f.waiting.p50)} / ${ms3(f.waiting.p90)} | **${ms3(f.own.p50)}** / ${ms3(f.own.p90)} | ${ms3(f.ownNoAllowance.p50)} | ≤ ${r.settings.targetMs} ms | ${judged ? (f.met ? 'yes' : '**no**') : `(${f.met ? 'yes' : 'no'}, not judged)`} |`;
  const fresh = `right after the start (after ${r.settings.warmUp} flows)`;
  const steady = `steady state (after ${r.settings.steadyAfter} flows)`;
  return [
    contextLine(r),
    `One request at a time on one keep-alive connection, ${r.settings.users} new users each sign in, then each revokes, twice in the same service process: right after its start (after ${r.settings.warmUp} flows not counted), and in steady state (after ${r.settings.steadyAfter} flows), which the target is judged on. Loopback allowance per upstream request: ${ms3(r.loopbackAllowanceMs)} ms.`,
    '',
    '| request | n | total p50 / p90 (ms) | waiting on Google and S3 p50 / p90 | own time p50 / p90 | own time p50 without the loopback allowance | target (own p50) | met |',
    '|---|---|---|---|---|---|---|---|',
    row(r.callback, steady, true),
    row(r.revoke, steady, true),
    row(r.fresh.callback, fresh, false),
    row(r.fresh.revoke, fresh, false),
    '',
    `Service CPU per request p50 / p90 (its \`process_cpu_seconds_total\`, less ${ms3(r.scrapeCpuMs)} ms that a scrape of /metrics costs; not inflated when other processes hold the CPU): in steady state callback ${ms3(r.callback.cpu.p50)} / ${ms3(r.callback.cpu.p90)} ms, revoke ${ms3(r.revoke.cpu.p50)} / ${ms3(r.revoke.cpu.p90)} ms; right after the start callback ${ms3(r.fresh.callback.cpu.p50)} / ${ms3(r.fresh.callback.cpu.p90)} ms, revoke ${ms3(r.fresh.revoke.cpu.p50)} / ${ms3(r.fresh.revoke.cpu.p90)} ms.`,
    '',
    `S3 time per request p50 in steady state, at the S3 server / as the service's S3 client timed it (its \`broker_s3_operation_duration_seconds\` sum): callback ${ms3(r.callback.s3AtServer.p50)} / ${ms3(r.callback.s3AsServiceTimedIt.p50)} ms, revoke ${ms3(r.revoke.s3AtServer.p50)} / ${ms3(r.revoke.s3AsServiceTimedIt.p50)} ms; the difference is spent in the service's S3 client (AWS SDK: middleware, signing, serialising, parsing) and in transit, and S3 calls that overlap count twice in the service's sum.`,
    '',
    `Upstream requests of one callback: ${r.callback.upstream.map((u) => `\`${u}\``).join(', ')}.`,
    `Upstream requests of one revoke: ${r.revoke.upstream.map((u) => `\`${u}\``).join(', ')}.`,
    '',
    `CPU profile of a second service process doing ${r.profile.pairs} sign-ins then ${r.profile.pairs} revokes the same way after ${r.settings.steadyAfter} flows (only the samples of that loop): [${r.profile.file}](${r.profile.file}). The service is idle while it waits, so \`(idle)\` is large; the rest is its own time.`,
    '',
    '| where (self time) | % of samples | % of busy samples (not idle) |',
    '|---|---|---|',
    ...r.profile.byPackage.map((f) => `| ${f.name} | ${f.selfPercent} | ${busy(f)} |`),
    '',
    '| top frames (self time) | % of samples | % of busy samples |',
    '|---|---|---|',
    ...r.profile.topFrames.map((f) => `| \`${f.name}\` | ${f.selfPercent} | ${busy(f)} |`),
  ].join('\n');
}
