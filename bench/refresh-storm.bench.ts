import { Agent } from 'node:http';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { quantile, send } from './http-once.js';
import { ServiceProcess, WorldProcess } from './processes.js';
import type { ServedRequest } from './served-timing.js';
import { contextLine, runContext, type RunContext } from './target-report.js';

/** The service refreshes a token this long before Google's expiry (EXPIRY_SKEW_MS in src/credentials/credentials.service.ts). */
const SERVICE_EXPIRY_SKEW_S = 60;
/** How long a token stays usable in the service's eyes: the first storm must start and drain within it. */
const USABLE_S = 20;
const GMAIL = '/v1/users/me/gmail/messages?maxResults=5';
/** GOOGLE_HTTP_TIMEOUT_MS and S3_TIMEOUT_MS defaults (src/config/config.schema.ts); BENCH_STORM_*_TIMEOUT_MS try others. */
const GOOGLE_TIMEOUT_MS = Number(process.env.BENCH_STORM_GOOGLE_TIMEOUT_MS ?? 10_000);
const S3_TIMEOUT_MS = Number(process.env.BENCH_STORM_S3_TIMEOUT_MS ?? 5000);

/** One storm: every call fired at once, then what Google and S3 saw. */
export interface StormFigures {
  what: string;
  calls: number;
  succeeded: number;
  /** Answers other than 200, by status (0: the connection failed). */
  failedByStatus: Record<string, number>;
  /** The distinct error messages of those answers, with how many carried each. */
  failureMessages: Record<string, number>;
  /** From firing the first call to the last answer. */
  drainMs: number;
  p50Ms: number;
  p99Ms: number;
  /** refresh_token grants Google (the emulator) answered during the storm. */
  refreshes: number;
  /** Users refreshed other than exactly once, with their count. */
  usersNotRefreshedOnce: Record<string, number>;
  /** Requests the S3 server received during the storm, by method and key folder. */
  s3: Record<string, number>;
  credentialWrites: number;
  /**
   * What Google and S3 served during the storm, by kind (`google POST /token`, `s3 PUT credentials`): how many,
   * and when the first started and the last ended, ms after the storm was fired: where the time to drain went.
   */
  upstream: Record<string, { count: number; firstStartMs: number; lastEndMs: number }>;
  /** Whether the target's counts apply (false for the warm control storm). */
  expectsRefreshes: boolean;
  met: boolean;
}

export interface RefreshStormResults extends RunContext {
  settings: { users: number; callsPerUser: number; googleTokenTtlSeconds: number; call: string; googleTimeoutMs: number; s3TimeoutMs: number };
  /** Expired by the clock (the service sees the expiry passed; Google refuses the old tokens too). */
  expired: StormFigures;
  /** Expired at Google before the service's clock says so: every first call meets a 401, then one refresh per user. */
  rejected: StormFigures;
  /** Control: the same storm with tokens good (no refresh expected): the drain time without refreshes. */
  warm: StormFigures;
}

/**
 * Target 4 (issue 14), black-box: `users` users signed in through the service (its own process; S3 and the Google
 * emulator in another), their Google access tokens expire, then `callsPerUser` concurrent Workspace calls per user
 * are fired at once. Single-flight refresh means exactly one refresh at Google and one credentials write to S3 per
 * user, and every call succeeds.
 */
export async function refreshStormBench(opts: { users: number; callsPerUser: number; outDir: string }): Promise<RefreshStormResults> {
  const ctx = runContext();
  const ttl = SERVICE_EXPIRY_SKEW_S + USABLE_S;
  const logFile = join(opts.outDir, '.refresh-storm.log');
  rmSync(logFile, { force: true });
  const world = await WorldProcess.start({ googleTokenTtlSeconds: ttl });
  let service: ServiceProcess | undefined;
  // One connection per call, opened before the storm: the storm measures the service, not TCP set-up.
  const calls = opts.users * opts.callsPerUser;
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: calls + 10, keepAliveMsecs: 60_000 });
  try {
    // The deployed timeouts (config.schema.ts defaults), not the 2 s the test harness sets to make tests fail fast:
    // a storm queues calls, and the target is about the deployed service.
    service = await ServiceProcess.start(world.info, { logFile, env: { GOOGLE_HTTP_TIMEOUT_MS: String(GOOGLE_TIMEOUT_MS), S3_TIMEOUT_MS: String(S3_TIMEOUT_MS) } });
    const url = service.url;
    const emails = Array.from({ length: opts.users }, (_, i) => `storm-${i}@example.com`);
    const bearers = new Map<string, string>();
    // Four users at a time: sign-in, then one warm call (the user's Google client exists, as for someone active
    // before the expiry), within a second of their token being issued, so the warm call never refreshes.
    for (let i = 0; i < emails.length; i += 4) {
      await Promise.all(
        emails.slice(i, i + 4).map(async (e) => {
          const bearer = (await world.signIn(url, e)).accessToken;
          bearers.set(e, bearer);
          const r = await send(agent, `${url}${GMAIL}`, { headers: { authorization: `Bearer ${bearer}` } });
          if (r.status !== 200) throw new Error(`warm call for ${e}: ${r.status} ${r.body}`);
        }),
      );
    }
    const lastSignIn = performance.now();

    const storm = async (what: string, expectsRefreshes = true): Promise<StormFigures> => {
      await openConnections(agent, `${url}/health/live`, calls);
      await world.ask({ op: 'timeServed', on: true });
      const refreshBefore = await world.ask<{ total: number; byEmail: Record<string, number> }>({ op: 'refreshCount', emails });
      const s3Before = await world.s3Requests();
      const started = performance.now();
      const answers = await Promise.all(
        emails.flatMap((e) =>
          Array.from({ length: opts.callsPerUser }, () =>
            send(agent, `${url}${GMAIL}`, { headers: { authorization: `Bearer ${bearers.get(e)}` } }).then(
              (a) => ({ status: a.status, ms: a.ms, done: performance.now(), body: a.status === 200 ? '' : a.body }),
              (err: Error) => ({ status: 0, ms: NaN, done: performance.now(), body: err.message }),
            ),
          ),
        ),
      );
      const drainMs = Math.max(...answers.map((a) => a.done)) - started;
      const refreshAfter = await world.ask<{ total: number; byEmail: Record<string, number> }>({ op: 'refreshCount', emails });
      const s3After = await world.s3Requests();
      const served = await world.ask<ServedRequest[]>({ op: 'served' });
      await world.ask({ op: 'timeServed', on: false });
      const firedAt = performance.timeOrigin + started;
      const upstream: StormFigures['upstream'] = {};
      for (const r of served.filter((x) => x.server !== 'other')) {
        const kind = `${r.server} ${r.method} ${r.server === 's3' ? (r.path.split('/')[2] ?? '') : r.path.replace(/\/users\/[^/]+\//, '/users/{user}/')}`;
        const k = (upstream[kind] ??= { count: 0, firstStartMs: Infinity, lastEndMs: 0 });
        k.count++;
        k.firstStartMs = Math.min(k.firstStartMs, r.start - firedAt);
        k.lastEndMs = Math.max(k.lastEndMs, r.end - firedAt);
      }
      const s3 = Object.fromEntries(Object.entries(s3After).map(([k, v]) => [k, v - (s3Before[k] ?? 0)]).filter(([, v]) => Number(v) > 0)) as Record<string, number>;
      const failedByStatus: Record<string, number> = {};
      const failureMessages: Record<string, number> = {};
      for (const a of answers.filter((x) => x.status !== 200)) {
        failedByStatus[a.status] = (failedByStatus[a.status] ?? 0) + 1;
        const message = `${a.status} ${messageOf(a.body)}`;
        failureMessages[message] = (failureMessages[message] ?? 0) + 1;
      }
      const usersNotRefreshedOnce = Object.fromEntries(emails.map((e) => [e, refreshAfter.byEmail[e] - (refreshBefore.byEmail[e] ?? 0)]).filter(([, n]) => n !== (expectsRefreshes ? 1 : 0)));
      const succeeded = answers.filter((a) => a.status === 200).length;
      const refreshes = refreshAfter.total - refreshBefore.total;
      const credentialWrites = s3['PUT credentials'] ?? 0;
      const latencies = answers.filter((a) => a.status === 200).map((a) => a.ms);
      const figures: StormFigures = {
        what,
        calls,
        succeeded,
        failedByStatus,
        failureMessages,
        drainMs,
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
        refreshes,
        usersNotRefreshedOnce,
        s3,
        credentialWrites,
        upstream,
        expectsRefreshes,
        met: succeeded === calls && refreshes === (expectsRefreshes ? opts.users : 0) && credentialWrites === (expectsRefreshes ? opts.users : 0),
      };
      console.log(`refresh storm (${what}): ${succeeded}/${calls} succeeded, drained in ${drainMs.toFixed(0)} ms, ${refreshes} refreshes, ${credentialWrites} credential writes, S3 ${JSON.stringify(s3)}${figures.met ? '' : ' — TARGET NOT MET'}`);
      return figures;
    };

    // Storm 1: wait until the service's clock says every token expired (its expiry minus the skew has passed),
    // then expire them at Google as well, so the old tokens are refused there too.
    const waitMs = lastSignIn + USABLE_S * 1000 + 1000 - performance.now();
    console.log(`refresh storm: ${opts.users} users signed in; waiting ${(waitMs / 1000).toFixed(1)} s for their tokens to expire`);
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    await world.ask({ op: 'expire', emails });
    const expired = await storm('tokens expired (clock) and refused by Google');

    // Storm 2: the fresh tokens die at Google while the service still thinks them good (revoked, Google's early
    // expiry): every user's calls meet a 401 first, and the refresh must still happen once per user.
    await world.ask({ op: 'expire', emails });
    const rejected = await storm('tokens refused by Google before their expiry (401, then refresh)');

    // Control: the same storm at once again, tokens good: no refresh, no credentials write; its drain time is
    // what the storms above would take without refreshing.
    const warm = await storm('control: tokens good (no refresh expected)', false);
    return {
      ...ctx.finish(),
      settings: { users: opts.users, callsPerUser: opts.callsPerUser, googleTokenTtlSeconds: ttl, call: `GET ${GMAIL}`, googleTimeoutMs: GOOGLE_TIMEOUT_MS, s3TimeoutMs: S3_TIMEOUT_MS },
      expired,
      rejected,
      warm,
    };
  } finally {
    agent.destroy();
    await service?.stop();
    await world.stop();
  }
}

/** The `message` of a JSON error answer, else the start of the body. */
function messageOf(body: string): string {
  try {
    return String((JSON.parse(body) as { message?: unknown }).message ?? body.slice(0, 200));
  } catch {
    return body.slice(0, 200);
  }
}

/** `n` concurrent requests, so the agent holds `n` open keep-alive connections to the service afterwards. */
async function openConnections(agent: Agent, url: string, n: number): Promise<void> {
  const answers = await Promise.all(Array.from({ length: n }, () => send(agent, url)));
  const bad = answers.filter((a) => a.status !== 200).length;
  if (bad) throw new Error(`${bad} of ${n} connection warm-up requests failed`);
}

/** The section of BENCHMARKS.md. */
export function refreshStormMarkdown(r: RefreshStormResults): string {
  const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
  const storms = [r.expired, r.rejected, r.warm];
  const row = (f: StormFigures) =>
    `| ${f.what} | ${f.succeeded} / ${f.calls}${Object.keys(f.failedByStatus).length ? ` (failed: ${JSON.stringify(f.failedByStatus)})` : ''} | ${f.refreshes} | ${f.credentialWrites} | ${n0(f.drainMs)} ms | ${n0(f.p50Ms)} / ${n0(f.p99Ms)} ms | ${f.expectsRefreshes ? (f.met ? 'yes' : '**no**') : f.met ? 'as expected (0 / 0)' : '**unexpected**'} |`;
  const kinds = [...new Set(storms.flatMap((f) => Object.keys(f.upstream)))].sort();
  const cell = (f: StormFigures, k: string) => (f.upstream[k] ? `${f.upstream[k].count} (${n0(f.upstream[k].firstStartMs)}–${n0(f.upstream[k].lastEndMs)} ms)` : '–');
  const odd = storms.filter((f) => Object.keys(f.usersNotRefreshedOnce).length);
  return [
    contextLine(r),
    `${r.settings.users} users × ${r.settings.callsPerUser} concurrent \`${r.settings.call}\`, one keep-alive connection per call, fired at once; Google access tokens issued for ${r.settings.googleTokenTtlSeconds} s; the service with its deployed timeouts (Google ${r.settings.googleTimeoutMs / 1000} s, S3 ${r.settings.s3TimeoutMs / 1000} s).`,
    '',
    `| storm | succeeded | refreshes at Google (target ${r.settings.users}) | credential writes to S3 (target ${r.settings.users}) | time to drain | p50 / p99 per call | met |`,
    '|---|---|---|---|---|---|---|',
    ...storms.map(row),
    '',
    'What Google and S3 served during each storm: count (first started – last ended, ms after the storm was fired):',
    '',
    `| request | ${storms.map((f) => f.what).join(' | ')} |`,
    `|---|${storms.map(() => '---').join('|')}|`,
    ...kinds.map((k) => `| \`${k}\` | ${storms.map((f) => cell(f, k)).join(' | ')} |`),
    ...(odd.length ? ['', ...odd.map((f) => `Users not refreshed as expected (${f.what}): ${JSON.stringify(f.usersNotRefreshedOnce)}.`)] : []),
    ...storms.filter((f) => Object.keys(f.failureMessages).length).map((f) => `\nFailed calls (${f.what}), by answer: ${Object.entries(f.failureMessages).map(([m, c]) => `${c} × \`${m}\``).join('; ')}.`),
  ].join('\n');
}
