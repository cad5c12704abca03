import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

/** Where and under what load a bench ran (the machines are shared: the load average says how noisy it was). */
export interface RunContext {
  date: string;
  machine: { cpus: number; model: string; memoryGb: number; node: string; loadBefore: number[]; loadAfter: number[] };
}

/** The machine now; call `finish` at the end to fill in the load average after. */
export function runContext(): RunContext & { finish(): RunContext } {
  const ctx: RunContext = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore: loadavg(), loadAfter: [] },
  };
  return {
    ...ctx,
    finish() {
      ctx.machine.loadAfter = loadavg();
      return ctx;
    },
  };
}

/** One line saying when, on what and under what load. */
export function contextLine(c: RunContext): string {
  const m = c.machine;
  const l = (v: number[]) => v.map((x) => x.toFixed(2)).join(' / ');
  return `Measured ${c.date} on ${m.cpus} × ${m.model}, ${m.memoryGb} GB, Node ${m.node}; load average before ${l(m.loadBefore)}, after ${l(m.loadAfter)} (1/5/15 min).`;
}

/** Sets one top-level key of bench/results.json, keeping the others (each bench owns its key). */
export function writeResultsKey(file: string, key: string, value: unknown): void {
  const old = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(file, `${JSON.stringify({ ...old, [key]: value }, null, 2)}\n`);
}

/**
 * Puts `markdown` between `<!-- bench:NAME:begin -->` and `<!-- bench:NAME:end -->` in BENCHMARKS.md, keeping the
 * hand-written text around them; appends the block when the markers are missing.
 */
export function writeMarkedBlock(file: string, name: string, markdown: string): void {
  const begin = `<!-- bench:${name}:begin (written by \`npm run bench\`; edit outside these markers) -->`;
  const end = `<!-- bench:${name}:end -->`;
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const b = old.indexOf(`<!-- bench:${name}:begin`);
  const e = old.indexOf(end);
  const next = b >= 0 && e > b ? `${old.slice(0, b)}${begin}\n${markdown}\n${old.slice(e)}` : `${old.trimEnd()}\n\n${begin}\n${markdown}\n${end}\n`;
  writeFileSync(file, next);
}

/** ms with three decimals. */
export const ms3 = (v: number) => v.toFixed(3);
