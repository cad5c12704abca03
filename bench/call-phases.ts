import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sequential } from './load.js';
import { BareProcess, ServiceProcess, type WorldProcess } from './processes.js';
import type { BenchUser } from './world.process.js';

/** Medians (ms) of one warm call's phases, one request at a time (call-phases.preload.ts measures them). */
export interface CallPhases {
  requests: number;
  /** Request in (headers parsed) until the upstream request is handed to node:http (`end`). */
  beforeUpstream: number;
  /**
   * Upstream request handed over until its answer is complete: the Google emulator's time, both sockets, and the
   * HTTP client's own work in between (sending the request, handling the answer's head).
   */
  upstream: number;
  /** Upstream answer complete until the reply is handed to node:http (`res.end`). */
  afterUpstream: number;
  /** `res.end` until the reply is written (`finish`). */
  writing: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const PRELOAD = ['--import', pathToFileURL(join(here, 'call-phases.preload.js')).href];

/**
 * Where one warm Gmail call's time goes, phase by phase, in the service and in the bare proxy: both run again in
 * fresh processes with the call-phase preload (it stays out of the throughput runs), one connection, one request at
 * a time. Two interleaved rounds; each process's quieter round (smaller sum) is kept.
 */
export async function measureCallPhases(opts: {
  world: WorldProcess;
  logFile: string;
  seconds: number;
  /** The bare proxy's environment for a user signed in to the service under test. */
  bareEnv: (user: BenchUser) => Record<string, string>;
  /** The warm call, as a path of the service (`/v1/users/me/gmail/messages?...`). */
  servicePath: string;
}): Promise<{ service: CallPhases; proxy: CallPhases }> {
  const upstream = new URL(opts.world.info.google.urls.apiRoot).host;
  const dir = mkdtempSync(join(tmpdir(), 'call-phases-'));
  const file = (who: string) => join(dir, `${who}.json`);
  const service = await ServiceProcess.start(opts.world.info, { logFile: opts.logFile, nodeArgs: PRELOAD, env: { BENCH_PHASES_UPSTREAM: upstream, BENCH_PHASES_FILE: file('service') } });
  let bare: BareProcess | undefined;
  try {
    const user = await opts.world.signIn(service.url, 'phases@example.com');
    bare = await BareProcess.start({ ...opts.bareEnv(user), BENCH_PHASES_UPSTREAM: upstream, BENCH_PHASES_FILE: file('proxy') }, PRELOAD);
    const bearer = { authorization: `Bearer ${user.accessToken}` };
    const runs = [
      { who: 'service', pid: service.pid, url: `${service.url}${opts.servicePath}`, rounds: [] as CallPhases[] },
      { who: 'proxy', pid: bare.pid, url: `http://127.0.0.1:${bare.ports.proxy}/`, rounds: [] as CallPhases[] },
    ];
    for (const run of runs) {
      await sequential(run.url, bearer, 1); // warm-up: JIT, the user's client, the pool
      await readPhases(run.pid, file(run.who)); // drops the warm-up's requests
    }
    for (let round = 0; round < 2; round++) {
      for (const run of runs) {
        const load = await sequential(run.url, bearer, opts.seconds);
        if (load.failures) throw new Error(`call phases: ${load.failures} failed requests through the ${run.who}`);
        const phases = await readPhases(run.pid, file(run.who));
        // No timed request means the marks never matched (another upstream host, a changed node:http): say so, not NaN.
        if (!phases.requests) throw new Error(`call phases: no request through the ${run.who} was timed (upstream ${upstream})`);
        run.rounds.push(phases);
      }
    }
    const quieter = (rounds: CallPhases[]) => rounds.reduce((a, b) => (total(b) < total(a) ? b : a));
    return { service: quieter(runs[0].rounds), proxy: quieter(runs[1].rounds) };
  } finally {
    await service.stop();
    await bare?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const total = (p: CallPhases) => p.beforeUpstream + p.upstream + p.afterUpstream + p.writing;

/** Asks the preload in `pid` for the medians since its last report (SIGUSR2) and waits for its file. */
async function readPhases(pid: number, file: string): Promise<CallPhases> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 250; i++) {
    await new Promise((r) => setTimeout(r, 20));
    if (!existsSync(file)) continue;
    try {
      const { requests, phasesMs } = JSON.parse(readFileSync(file, 'utf8')) as { requests: number; phasesMs: number[] };
      const [beforeUpstream, upstream, afterUpstream, writing] = phasesMs;
      return { requests, beforeUpstream, upstream, afterUpstream, writing };
    } catch {
      // written but not complete yet: read again
    }
  }
  throw new Error(`the call-phase preload in process ${pid} did not report (${file})`);
}
