import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** A command started in a process group of its own, with what it wrote to stdout and stderr. */
export interface GroupProcess {
  child: ChildProcess;
  /** The group's id: the PID of the command, which leads it. */
  pgid: number;
  /** Every PID seen in the group so far (see ProcessGroups.sample). */
  pids: Set<number>;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How long stopAll waits for the processes to be gone after SIGKILL before it gives up (and reports them). */
const GONE_WITHIN_MS = 5000;

/**
 * The processes a suite starts, each command in a process group of its own, so that everything a command starts in
 * turn (`npm run` starts a shell or node, which starts tsc, `npm ci`, ...) is stopped with it, even what outlived its
 * parent. Signalling the command alone leaves its children behind when it dies first (SIGKILL, a crash) or does
 * not pass the signal on. A suite keeps one of these per lifetime (what its afterEach stops, what its afterAll
 * stops) and stops it in that hook, so a test that failed or timed out half-way leaves nothing running: jest runs the
 * hooks after a timeout, but the timed-out test body goes on, which is why stopAll({ final: true }) refuses any
 * later start.
 */
export class ProcessGroups {
  private readonly started: GroupProcess[] = [];
  private closed = false;

  /** Starts `cmd` in a new process group (a session of its own: `detached`), its output collected. */
  spawn(cmd: string, args: string[], env: NodeJS.ProcessEnv): GroupProcess {
    if (this.closed) throw new Error(`not starting ${cmd} ${args.join(' ')}: the suite's processes were stopped already (a test body that timed out went on)`);
    let output = '';
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    if (child.pid === undefined) throw new Error(`${cmd} did not start`);
    const proc: GroupProcess = { child, pgid: child.pid, pids: new Set([child.pid]), output: () => output, exited };
    this.started.push(proc);
    return proc;
  }

  /** Notes the PIDs now in each group (call it once a command has started its children, to check them later). */
  sample(): void {
    const members = groupMembers();
    for (const proc of this.started) for (const pid of members.get(proc.pgid) ?? []) proc.pids.add(pid);
  }

  /** Every PID seen in any of the groups. */
  get pids(): number[] {
    return this.started.flatMap((p) => [...p.pids]);
  }

  /**
   * Stops every group that still has a live process: SIGTERM to the whole group, SIGKILL to whatever is left after
   * `graceMs`, then waits until none of its processes is alive. `final`: no start is accepted after this (afterAll).
   * Resolves with the PIDs of the processes still alive at the end (none, unless SIGKILL could not end one).
   */
  async stopAll(opts: { graceMs?: number; final?: boolean } = {}): Promise<number[]> {
    if (opts.final) this.closed = true;
    this.sample();
    const live = this.started.filter((p) => groupAlive(p.pgid));
    if (live.length > 0) {
      for (const p of live) signalGroup(p.pgid, 'SIGTERM');
      await waitUntil(() => live.every((p) => !groupAlive(p.pgid)), opts.graceMs ?? 10_000);
      for (const p of live) signalGroup(p.pgid, 'SIGKILL');
      await waitUntil(() => live.every((p) => !groupAlive(p.pgid)), GONE_WITHIN_MS);
    }
    return this.pids.filter(isAlive);
  }
}

/** Whether a process with this PID is running (a zombie, dead but not yet reaped by its parent, is not). */
export function isAlive(pid: number): boolean {
  if (existsSync('/proc')) {
    const stat = readStat(pid);
    return stat !== undefined && stat.state !== 'Z';
  }
  try {
    process.kill(pid, 0);
    return !psTable().some((p) => p.pid === pid && p.state === 'Z');
  } catch {
    return false;
  }
}

function groupAlive(pgid: number): boolean {
  return (groupMembers().get(pgid) ?? []).length > 0;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group has no process left
  }
}

async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

interface ProcessRow {
  pid: number;
  pgid: number;
  state: string;
}

/** The live (not zombie) processes of every process group, by group id. */
function groupMembers(): Map<number, number[]> {
  const rows = existsSync('/proc') ? procTable() : psTable();
  const groups = new Map<number, number[]>();
  for (const { pid, pgid, state } of rows) {
    if (state === 'Z') continue;
    groups.set(pgid, [...(groups.get(pgid) ?? []), pid]);
  }
  return groups;
}

/** Linux: every process from /proc/<pid>/stat. */
function procTable(): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const row = readStat(Number(name));
    if (row) rows.push(row);
  }
  return rows;
}

function readStat(pid: number): ProcessRow | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone
  }
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so the fields are read after the last ')'.
  const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, pgid: Number(pgrp), state };
}

/** Elsewhere (macOS): ps. */
function psTable(): ProcessRow[] {
  return execFileSync('ps', ['-A', '-o', 'pid=,pgid=,stat='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 3)
    .map(([pid, pgid, stat]) => ({ pid: Number(pid), pgid: Number(pgid), state: stat[0] }));
}
