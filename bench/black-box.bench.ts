import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { hammer, median, sequential, type LoadFigures } from './load.js';
import { measureCallPhases, type CallPhases } from './call-phases.js';
import { processCpuMicros } from './process-cpu.js';
import { BareProcess, ServiceProcess, WorldProcess } from './processes.js';
import { selfByPackage, topFrames, type Frame } from './profile.js';
import { JWT_SECRET } from '../test/support/harness.js';

/** What a run measured; bench/results.json holds it and BENCHMARKS.md is written from it. */
export interface BlackBoxResults {
  date: string;
  machine: { cpus: number; model: string; memoryGb: number; node: string; loadBefore: number[]; loadAfter: number[] };
  settings: { seconds: number; connections: number; rounds: number };
  targets: Record<TargetName, { what: string; rounds: LoadFigures[]; best: LoadFigures; medianPerSecond: number }>;
  ratios: Record<string, { best: number; median: number; target: number; met: boolean }>;
  /**
   * Ratios without a target that say where the cost is: the framework and the header block against the floor, and
   * the bare proxy (the least a warm Workspace call needs) against the direct call and the service.
   */
  context: Record<string, { best: number; median: number }>;
  oneConnection: {
    rounds: Array<{ direct: number; service: number; proxy: number }>;
    directP50: number;
    serviceP50: number;
    addedMs: number;
    addedMsMedian: number;
    /** What the bare proxy adds to the direct call (best rounds): the floor under `addedMs` on this machine. */
    proxyAddedMs: number;
    target: number;
    met: boolean;
    /** Where one call's time goes (call-phases.ts), in the service and in the bare proxy; absent in runs before it. */
    phases?: { service: CallPhases; proxy: CallPhases };
  };
  s3RequestsDuringWarmRuns: number;
  /** Per service target: the S3 requests seen during its runs, by method and key folder. */
  s3RequestsByTarget: Record<string, Record<string, number>>;
  profile: { file: string; topFrames: Frame[]; byPackage: Frame[] };
}

type TargetName = 'hello' | 'headers' | 'framework' | 'bearer' | 'health' | 'session' | 'direct' | 'proxy' | 'gmail';

const GMAIL_QUERY = 'gmail/v1/users/me/messages?maxResults=5';
/** The same list through the service. */
const GMAIL_PATH = `/v1/users/me/${GMAIL_QUERY.replace('gmail/v1/users/me/messages', 'gmail/messages')}`;

/**
 * The gmail target is one user on `connections` connections: it measures the replica's throughput, not the per-user
 * limit, so the limit is raised to let every connection have its call in flight (else most answers would be 429s).
 */
function oneUserAtFullLoad(connections: number): Record<string, string> {
  return { WORKSPACE_CALLS_PER_USER: String(Math.max(16, connections)) };
}

/**
 * The black-box benchmark: the built service in its own process, S3 and the Google emulator in another, the bare
 * node:http baselines in a third, autocannon here. Rounds interleave the targets so a noisy neighbour hurts all of
 * them alike; the ratios within one run are the figures that count.
 */
export async function blackBoxBench(opts: { seconds: number; connections: number; rounds: number; outDir: string }): Promise<BlackBoxResults> {
  const loadBefore = loadavg();
  const logFile = join(opts.outDir, '.service.log');
  rmSync(logFile, { force: true });
  const world = await WorldProcess.start();
  let service: ServiceProcess | undefined;
  let bare: BareProcess | undefined;
  let framework: BareProcess<{ framework: number }> | undefined;
  try {
    service = await ServiceProcess.start(world.info, { logFile, env: oneUserAtFullLoad(opts.connections) });
    const user = await world.signIn(service.url, 'bench@example.com');
    const directGmail = `${world.info.google.urls.apiRoot}${GMAIL_QUERY}`;
    // The bare servers check the bearers of `signedIn` (a user signed in to the service) the way the service does.
    const bareEnv = (signedIn: typeof user) => {
      const claims = JSON.parse(Buffer.from(signedIn.accessToken.split('.')[1], 'base64url').toString()) as { aud: string; iss: string; sub: string };
      return {
        JWT_SECRET,
        JWT_ISSUER: claims.iss,
        JWT_AUDIENCE: claims.aud,
        BENCH_SESSIONS: JSON.stringify([[signedIn.sessionId, { email: claims.sub }]]),
        BENCH_PROXY_UPSTREAM: directGmail,
        BENCH_PROXY_GOOGLE_TOKEN: signedIn.googleToken,
      };
    };
    bare = await BareProcess.start(bareEnv(user));
    framework = await BareProcess.framework();
    const bearer = { authorization: `Bearer ${user.accessToken}` };
    const google = { authorization: `Bearer ${user.googleToken}` };
    // `pid`: the process that answers, whose CPU per request the run also reads (the proxy's own, without the emulator's).
    const targets: Record<TargetName, { what: string; url: string; headers: Record<string, string>; service: boolean; pid: number }> = {
      hello: { what: 'bare node:http {"ok":true}', url: `http://127.0.0.1:${bare.ports.hello}/`, headers: {}, service: false, pid: bare.pid },
      headers: { what: "bare node:http {\"ok\":true} with the service's response headers (helmet's, Vary, request id)", url: `http://127.0.0.1:${bare.ports.headers}/`, headers: {}, service: false, pid: bare.pid },
      framework: { what: 'NestJS on Fastify, one empty controller (the framework floor)', url: `http://127.0.0.1:${framework.ports.framework}/`, headers: {}, service: false, pid: framework.pid },
      bearer: { what: 'bare node:http: HS256 bearer verified + session Map lookup', url: `http://127.0.0.1:${bare.ports.bearer}/`, headers: bearer, service: false, pid: bare.pid },
      health: { what: 'service GET /health/live', url: `${service.url}/health/live`, headers: {}, service: true, pid: service.pid },
      session: { what: 'service GET /auth/session with a bearer', url: `${service.url}/auth/session`, headers: bearer, service: true, pid: service.pid },
      direct: { what: 'Google emulator Gmail list, called directly', url: directGmail, headers: google, service: false, pid: world.pid },
      proxy: { what: 'bare node:http: bearer verified + the Gmail list fetched from the emulator (keep-alive agent, JSON parsed and sent on)', url: `http://127.0.0.1:${bare.ports.proxy}/`, headers: bearer, service: false, pid: bare.pid },
      gmail: { what: 'service GET /v1/users/me/gmail/messages, warm', url: `${service.url}${GMAIL_PATH}`, headers: bearer, service: true, pid: service.pid },
    };
    const names = Object.keys(targets) as TargetName[];

    // Warm-up: JIT, connection pools, caches (the service's first Gmail call builds the user's client).
    for (const name of names) await hammer(targets[name].url, targets[name].headers, opts.connections, 1);

    const rounds: Record<TargetName, LoadFigures[]> = Object.fromEntries(names.map((n) => [n, []])) as never;
    let s3Requests = 0;
    const s3ByTarget: Record<string, Record<string, number>> = {};
    // What the S3 server received between two readings, by kind; adds it to the target's tally and the total.
    const tally = (target: string, before: Record<string, number>, after: Record<string, number>) => {
      const mine = (s3ByTarget[target] ??= {});
      for (const [kind, count] of Object.entries(after)) {
        const seen = count - (before[kind] ?? 0);
        if (seen > 0) {
          mine[kind] = (mine[kind] ?? 0) + seen;
          s3Requests += seen;
        }
      }
    };
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 ? [...names].reverse() : names;
      const line: string[] = [];
      for (const name of order) {
        const t = targets[name];
        const s3Before = t.service ? await world.s3Requests() : {};
        const cpuBefore = processCpuMicros(t.pid);
        const figures = await hammer(t.url, t.headers, opts.connections, opts.seconds);
        const cpuAfter = processCpuMicros(t.pid);
        if (cpuBefore !== undefined && cpuAfter !== undefined && figures.requests > 0) figures.cpuMicrosPerRequest = (cpuAfter - cpuBefore) / figures.requests;
        if (t.service) tally(name, s3Before, await world.s3Requests());
        if (figures.failures) throw new Error(`${name}: ${figures.failures} failed requests in round ${round + 1} (see ${logFile})`);
        rounds[name].push(figures);
        line.push(`${name} ${figures.perSecond.toFixed(0)}/s p50 ${figures.p50} ms`);
      }
      console.log(`round ${round + 1}: ${line.join(' | ')}`);
    }

    const oneConnection: Array<{ direct: number; service: number; proxy: number }> = [];
    for (let round = 0; round < opts.rounds; round++) {
      const direct = await sequential(targets.direct.url, targets.direct.headers, Math.max(2, opts.seconds / 2));
      const s3Before = await world.s3Requests();
      const through = await sequential(targets.gmail.url, targets.gmail.headers, Math.max(2, opts.seconds / 2));
      tally('gmail, one connection', s3Before, await world.s3Requests());
      const proxied = await sequential(targets.proxy.url, targets.proxy.headers, Math.max(2, opts.seconds / 2));
      if (direct.failures || through.failures || proxied.failures) throw new Error('failed requests in the one-connection run');
      oneConnection.push({ direct: direct.p50, service: through.p50, proxy: proxied.p50 });
      console.log(`one connection, round ${round + 1}: direct p50 ${direct.p50.toFixed(3)} ms, through the service ${through.p50.toFixed(3)} ms, through the bare proxy ${proxied.p50.toFixed(3)} ms`);
    }

    const summary = Object.fromEntries(
      names.map((n) => {
        const best = rounds[n].reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
        return [n, { what: targets[n].what, rounds: rounds[n], best, medianPerSecond: median(rounds[n].map((r) => r.perSecond)) }];
      }),
    ) as BlackBoxResults['targets'];
    const ratio = (a: TargetName, b: TargetName, target: number) => {
      const best = summary[a].best.perSecond / summary[b].best.perSecond;
      return { best, median: summary[a].medianPerSecond / summary[b].medianPerSecond, target, met: best >= target };
    };
    const directP50 = Math.min(...oneConnection.map((r) => r.direct));
    const serviceP50 = Math.min(...oneConnection.map((r) => r.service));
    const addedMsMedian = median(oneConnection.map((r) => r.service - r.direct));
    await service.stop();
    service = undefined;
    const phases = await measureCallPhases({ world, logFile, seconds: Math.max(2, opts.seconds / 2), bareEnv, servicePath: GMAIL_PATH });
    console.log(`one connection, phases (p50, ms): service ${JSON.stringify(phases.service)}, bare proxy ${JSON.stringify(phases.proxy)}`);

    // The CPU profile: a fresh service process under the Workspace load only, so its frames are that load's.
    const profileDir = join(opts.outDir, 'profile');
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
    const spawnedAt = performance.now();
    service = await ServiceProcess.start(world.info, { logFile, env: oneUserAtFullLoad(opts.connections), nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-name=gmail-warm.cpuprofile'] });
    const profiled = await world.signIn(service.url, 'profile@example.com');
    const profiledHeaders = { authorization: `Bearer ${profiled.accessToken}` };
    const profiledUrl = targets.gmail.url.replace(/^http:\/\/127\.0\.0\.1:\d+/, service.url);
    await hammer(profiledUrl, profiledHeaders, opts.connections, 1); // warm-up, outside the window
    const window = { fromMs: performance.now() - spawnedAt, toMs: 0 };
    await hammer(profiledUrl, profiledHeaders, opts.connections, Math.max(3, opts.seconds));
    window.toMs = performance.now() - spawnedAt;
    await service.stop();
    service = undefined;
    const profileFile = join(profileDir, readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile')) ?? 'gmail-warm.cpuprofile');

    const oneConnectionTarget = 0.5;
    return {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore, loadAfter: loadavg() },
      settings: { seconds: opts.seconds, connections: opts.connections, rounds: opts.rounds },
      targets: summary,
      ratios: {
        'auth/session vs bare bearer': ratio('session', 'bearer', 0.6),
        'health/live vs bare hello': ratio('health', 'hello', 0.6),
        'warm Gmail via service vs direct': ratio('gmail', 'direct', 0.5),
      },
      context: {
        'hello with the service headers vs bare hello': ratio('headers', 'hello', 0),
        'framework floor vs bare hello': ratio('framework', 'hello', 0),
        'health/live vs framework floor': ratio('health', 'framework', 0),
        'bare proxy vs direct (the floor of target 3a)': ratio('proxy', 'direct', 0),
        'warm Gmail via service vs bare proxy': ratio('gmail', 'proxy', 0),
      },
      oneConnection: {
        rounds: oneConnection,
        directP50,
        serviceP50,
        addedMs: serviceP50 - directP50,
        addedMsMedian,
        proxyAddedMs: Math.min(...oneConnection.map((r) => r.proxy)) - directP50,
        target: oneConnectionTarget,
        met: serviceP50 - directP50 <= oneConnectionTarget,
        phases,
      },
      s3RequestsDuringWarmRuns: s3Requests,
      s3RequestsByTarget: s3ByTarget,
      profile: { file: profileFile, topFrames: topFrames(profileFile, 15, window), byPackage: selfByPackage(profileFile, 12, window) },
    };
  } finally {
    await service?.stop();
    await bare?.stop();
    await framework?.stop();
    await world.stop();
  }
}
