import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { BlackBoxResults } from './black-box.bench.js';
import { median } from './median.js';

const BEGIN = '<!-- bench:begin (written by `npm run bench`; edit outside these markers) -->';
const END = '<!-- bench:end -->';

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const r2 = (v: number) => v.toFixed(2);

/** The figures as Markdown: the table, the ratios against their targets, the one-connection latency, the profile. */
export function figuresMarkdown(r: BlackBoxResults): string {
  const m = r.machine;
  const lines = [
    `Measured ${r.date} on ${m.cpus} × ${m.model}, ${m.memoryGb} GB, Node ${m.node}; load average before ${m.loadBefore.map(r2).join(' / ')}, after ${m.loadAfter.map(r2).join(' / ')} (1/5/15 min).`,
    `${r.settings.rounds} interleaved rounds of ${r.settings.seconds} s per target at ${r.settings.connections} connections (autocannon).`,
    '',
    '| target | best req/s | median req/s | p50 (best round) | p99 (best round) | each round req/s | CPU µs per request (median) |',
    '|---|---|---|---|---|---|---|',
    ...Object.values(r.targets).map((t) => `| ${t.what} | ${n0(t.best.perSecond)} | ${n0(t.medianPerSecond)} | ${t.best.p50} ms | ${t.best.p99} ms | ${t.rounds.map((x) => n0(x.perSecond)).join(', ')} | ${cpuOf(t) === undefined ? '–' : (cpuOf(t) as number).toFixed(1)} |`),
    '',
    '| ratio (throughput) | best rounds | medians | target | met |',
    '|---|---|---|---|---|',
    ...Object.entries(r.ratios).map(([name, x]) => `| ${name} | ${r2(x.best)} | ${r2(x.median)} | ≥ ${x.target} | ${x.met ? 'yes' : '**no**'} |`),
    '',
    'Where the costs are (no target; same run): the framework and the header block under target 2, the bare proxy under target 3a:',
    '',
    '| ratio (throughput) | best rounds | medians |',
    '|---|---|---|',
    ...Object.entries(r.context ?? {}).map(([name, x]) => `| ${name} | ${r2(x.best)} | ${r2(x.median)} |`),
    '',
    ...cpuMarkdown(r),
    `One connection, warm Gmail list: direct p50 ${r.oneConnection.directP50.toFixed(3)} ms, through the service p50 ${r.oneConnection.serviceP50.toFixed(3)} ms: **${r.oneConnection.addedMs.toFixed(3)} ms added** (best rounds; median of the per-round differences ${r.oneConnection.addedMsMedian.toFixed(3)} ms); target ≤ ${r.oneConnection.target} ms: ${r.oneConnection.met ? 'met' : '**not met**'}. The bare proxy adds ${r.oneConnection.proxyAddedMs.toFixed(3)} ms (best rounds): the floor on this machine.`,
    '',
    ...phasesMarkdown(r.oneConnection.phases),
    `S3 requests received by the S3 server during the warm service runs: **${r.s3RequestsDuringWarmRuns}** (target 0; by target and kind: ${JSON.stringify(r.s3RequestsByTarget)}).`,
    '',
    `CPU profile of a fresh service process (the bundle, as production runs it; frames mapped back to their files through its source map) under the warm Gmail load (the figures below count only the samples taken during the load, not the boot): [${r.profile.file}](${r.profile.file}) (open it in https://www.speedscope.app or Chrome DevTools > Performance).`,
    '',
    'Self time by package:',
    '',
    '| where | self % |',
    '|---|---|',
    ...r.profile.byPackage.map((f) => `| ${f.name} | ${f.selfPercent} |`),
    '',
    'Top frames by self time:',
    '',
    '| frame | self % |',
    '|---|---|',
    ...r.profile.topFrames.map((f) => `| \`${f.name}\` | ${f.selfPercent} |`),
  ];
  return lines.join('\n');
}

const us = (ms: number) => `${Math.round(ms * 1000)} µs`;

/** Where one call's time goes, the service beside the bare proxy (absent from results written before it existed). */
function phasesMarkdown(phases?: BlackBoxResults['oneConnection']['phases']): string[] {
  if (!phases) return [];
  const { service: s, proxy: p } = phases;
  const row = (what: string, key: Exclude<keyof typeof s, 'requests'>) => `| ${what} | ${us(s[key])} | ${us(p[key])} | ${us(s[key] - p[key])} |`;
  return [
    `Where one warm call's time goes, one request at a time (medians of ${s.requests} and ${p.requests} requests; fresh processes timed from outside the code by node:http's diagnostics channels, bench/call-phases.preload.ts):`,
    '',
    '| phase (p50) | service | bare proxy | service − proxy |',
    '|---|---|---|---|',
    row('request in → Google request sent (routing, bearer check, the handler, the googleapis client and its fetch)', 'beforeUpstream'),
    row("Google request sent → Google's answer complete (the emulator, both sockets, and the HTTP client's own work on the request's sending and the answer's head)", 'upstream'),
    row("Google's answer complete → reply handed to node:http (`res.end`: the client's response handling, serialising)", 'afterUpstream'),
    row('`res.end` → reply written (`finish`)', 'writing'),
    '',
  ];
}

/** Puts the figures between the markers of BENCHMARKS.md, keeping the hand-written text around them. */
export function writeBenchmarksMd(file: string, figures: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const start = old.indexOf(BEGIN);
  const end = old.indexOf(END);
  const next = start >= 0 && end > start ? `${old.slice(0, start + BEGIN.length)}\n${figures}\n${old.slice(end)}` : `${old}\n${BEGIN}\n${figures}\n${END}\n`;
  writeFileSync(file, next);
}

type TargetFigures = BlackBoxResults['targets'][keyof BlackBoxResults['targets']];

/** The median over the rounds of the CPU the answering process used per request (µs), when the run read it. */
function cpuOf(t: TargetFigures): number | undefined {
  const figures = t.rounds.map((x) => x.cpuMicrosPerRequest).filter((x): x is number => x !== undefined);
  return figures.length ? median(figures) : undefined;
}

/** The pairs of targets 1, 2 and 3a compared by CPU per request (what throughput comes down to on one core). */
const CPU_PAIRS = [
  ['auth/session vs bare bearer (target 1)', 'session', 'bearer'],
  ['health/live vs bare hello (target 2)', 'health', 'hello'],
  ['warm Gmail via service vs bare proxy (both without the emulator)', 'gmail', 'proxy'],
] as const;

/**
 * baseline ÷ service CPU per request, round by round (the two ran within the same round, a minute apart at most),
 * and their median: a machine that slows down raises both sides' CPU per request, so only pairs of one round compare.
 */
function cpuRatios(mine: TargetFigures, base: TargetFigures): { rounds: number[]; median: number } | undefined {
  const rounds = mine.rounds.flatMap((m, i) => {
    const a = m.cpuMicrosPerRequest;
    const b = base.rounds[i]?.cpuMicrosPerRequest;
    return a && b ? [b / a] : [];
  });
  return rounds.length ? { rounds, median: median(rounds) } : undefined;
}

function cpuMarkdown(r: BlackBoxResults): string[] {
  const rows = CPU_PAIRS.flatMap(([name, mine, base]) => {
    const ratios = cpuRatios(r.targets[mine], r.targets[base]);
    const a = cpuOf(r.targets[mine]);
    const b = cpuOf(r.targets[base]);
    return ratios && a !== undefined && b !== undefined ? [`| ${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${ratios.rounds.map(r2).join(', ')} | ${r2(ratios.median)} |`] : [];
  });
  if (!rows.length) return [];
  return [
    'The same pairs by the CPU the answering process used per request (all its threads, read from /proc before and after each run). On one core this is what throughput comes down to; it moves with the machine too (a slowed CPU takes longer per request), so the ratio is taken round by round, between runs a minute apart at most:',
    '',
    '| pair | service µs (median) | baseline µs (median) | baseline ÷ service, each round | median of the rounds |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ];
}

/** The console summary: best and median per target, the ratios and the one-connection figure. */
export function printSummary(r: BlackBoxResults): void {
  for (const [name, t] of Object.entries(r.targets)) {
    console.log(`${name.padEnd(8)} best ${n0(t.best.perSecond).padStart(7)}/s  median ${n0(t.medianPerSecond).padStart(7)}/s  p50 ${t.best.p50} ms  p99 ${t.best.p99} ms  ${t.what}`);
  }
  for (const [name, x] of Object.entries(r.ratios)) console.log(`ratio ${name}: best ${r2(x.best)}, median ${r2(x.median)} (target ≥ ${x.target}: ${x.met ? 'met' : 'NOT MET'})`);
  for (const [name, x] of Object.entries(r.context ?? {})) console.log(`context ${name}: best ${r2(x.best)}, median ${r2(x.median)}`);
  for (const [name, mine, base] of CPU_PAIRS) {
    const ratios = cpuRatios(r.targets[mine], r.targets[base]);
    if (ratios) console.log(`cpu ${name}: baseline ÷ service per round ${ratios.rounds.map(r2).join(', ')} (median ${r2(ratios.median)})`);
  }
  const o = r.oneConnection;
  console.log(`one connection: ${o.addedMs.toFixed(3)} ms added at p50 (direct ${o.directP50.toFixed(3)}, service ${o.serviceP50.toFixed(3)}; target ≤ ${o.target}: ${o.met ? 'met' : 'NOT MET'}); the bare proxy adds ${o.proxyAddedMs.toFixed(3)} ms`);
  if (o.phases) console.log(`one connection, phases p50 (service / bare proxy): before Google ${us(o.phases.service.beforeUpstream)} / ${us(o.phases.proxy.beforeUpstream)}, Google ${us(o.phases.service.upstream)} / ${us(o.phases.proxy.upstream)}, after ${us(o.phases.service.afterUpstream)} / ${us(o.phases.proxy.afterUpstream)}, writing ${us(o.phases.service.writing)} / ${us(o.phases.proxy.writing)}`);
  console.log(`S3 requests during the warm runs: ${r.s3RequestsDuringWarmRuns} (${JSON.stringify(r.s3RequestsByTarget)})`);
  console.log(`profile: ${r.profile.file}`);
  for (const f of r.profile.byPackage.slice(0, 8)) console.log(`  ${String(f.selfPercent).padStart(5)}%  ${f.name}`);
}
