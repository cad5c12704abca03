import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { writeFileSync } from 'node:fs';
import { FaultProxy } from '../support/fault-proxy.js';
import { signIn, startWorld, type World } from '../support/harness.js';
import { buildForReplicas, startReplica, type Replica } from '../support/replica.js';

/**
 * `npm run soak` (issue 10): two replicas in their own processes on one bucket, 20 users, Google rotating refresh
 * tokens, access tokens expired at Google every few seconds, 5% of S3 requests and 2% of Google requests faulted
 * by the fault proxies (latency, stall, reset, answers dropped after S3 applied the request). At the end it checks
 * and prints: no lost refresh token, no unparseable object, no spurious reauth_required, no 500, no request over
 * its bound, flat RSS. Exit code 1 on any failure; SOAK_REPORT names a jest-like JSON summary for .ci/run.
 */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const USERS = 20;
const S3_FAULT_RATE = 0.05;
const GOOGLE_FAULT_RATE = 0.02;
/**
 * Each user's access tokens are expired at Google this often, once they are TOKEN_MIN_AGE_MS old: Google never
 * expires a token seconds after issuing it, and a refresh may take seconds here (its S3 write meets the faults).
 */
const EXPIRE_EVERY_MS = 3000;
const TOKEN_MIN_AGE_MS = 10_000;
const S3_TIMEOUT_MS = 2000;
const GOOGLE_TIMEOUT_MS = 2000;
/**
 * The longest a request may take: a session read, a credentials read, a refresh and its write, each bounded by its
 * timeout (S3 calls with one SDK retry), plus the grace a replica gives a rotation winner (2 x S3_TIMEOUT_MS + 2 s).
 */
const REQUEST_BOUND_MS = Number(process.env.SOAK_REQUEST_BOUND_MS ?? 20_000);
const PATHS = ['/v1/users/me/gmail/messages', '/v1/users/me/drive/files', '/v1/users/me/calendar/events', '/auth/session'];

interface Tally {
  requests: number;
  byStatus: Map<string, number>;
  reauth: number;
  serverErrors500: number;
  overBound: number;
  durations: number[];
  /** The first message seen for each kind of error answer. */
  messages: Map<string, string>;
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  const main = buildForReplicas();
  const world = await startWorld();
  const s3proxy = await FaultProxy.start(world.s3.endpoint);
  const gproxy = await FaultProxy.start(world.google.baseUrl);
  const env = {
    S3_ENDPOINT: s3proxy.url,
    S3_TIMEOUT_MS: String(S3_TIMEOUT_MS),
    GOOGLE_HTTP_TIMEOUT_MS: String(GOOGLE_TIMEOUT_MS),
    GOOGLE_TOKEN_URL: gproxy.rewrite(world.google.urls.token),
    GOOGLE_USERINFO_URL: gproxy.rewrite(world.google.urls.userinfo),
    GOOGLE_REVOKE_URL: gproxy.rewrite(world.google.urls.revoke),
    GOOGLE_API_ROOT_URL: gproxy.rewrite(world.google.urls.apiRoot),
    LOG_LEVEL: 'warn',
  };
  // The heap flag of the Kubernetes Deployment (deploy/kubernetes/deployment.yaml): memory is judged as deployed.
  const nodeFlags = ['--max-old-space-size=384'];
  const replicas = [await startReplica(main, world, env, nodeFlags), await startReplica(main, world, env, nodeFlags)];
  const users = Array.from({ length: USERS }, (_, i) => `soak-${i}@example.com`);
  const bearers = new Map<string, string>();
  for (const [i, email] of users.entries()) bearers.set(email, (await signIn(replicas[i % 2], world, email)).access_token);

  world.google.rotateRefreshTokens(true);
  const s3faults = s3proxy.randomFaults({ rate: S3_FAULT_RATE, faults: ['latency', 'stall', 'reset', 'drop-answer'], stallMs: 3000, latencyMs: 200 });
  // Google's token endpoint gets no drop-answer: with rotation, an answer lost after Google rotated takes the only
  // copy of the new refresh token with it, and no client can recover that (see docs/architecture.md, "Refresh"). Workspace API
  // answers are dropped below, one at a time.
  const gfaults = gproxy.randomFaults({ rate: GOOGLE_FAULT_RATE, faults: ['latency', 'stall', 'reset'], stallMs: 3000, latencyMs: 200 });
  let droppedApiAnswers = 0;

  const tally: Tally = { requests: 0, byStatus: new Map(), reauth: 0, serverErrors500: 0, overBound: 0, durations: [], messages: new Map() };
  const memory: Array<{ t: number; mem: Array<{ rss: number; heap: number }> }> = [];
  const end = Date.now() + SECONDS * 1000;
  const running = () => Date.now() < end;
  const timers = [
    setInterval(() => {
      // Round-robin: every user's tokens expire once per EXPIRE_EVERY_MS.
      const email = users[Math.floor(Date.now() / (EXPIRE_EVERY_MS / USERS)) % USERS];
      world.google.expireAccessTokens(email, { olderThanMs: TOKEN_MIN_AGE_MS });
    }, EXPIRE_EVERY_MS / USERS),
    setInterval(() => {
      gproxy.inject({ method: 'GET', path: /^\/(gmail|drive|calendar)\//, fault: 'drop-answer', times: 1 });
      droppedApiAnswers++;
    }, 2000),
    setInterval(() => {
      // The proxies and the emulator keep what they saw; the soak does not need it and memory must stay flat here too.
      s3proxy.requests.length = 0;
      gproxy.requests.length = 0;
      (world.google.apiCalls as unknown[]).length = 0;
      replicas.forEach((r) => (r.logs.length = 0));
    }, 10_000),
  ];
  const sampler = (async () => {
    while (running()) {
      memory.push({ t: Date.now(), mem: await Promise.all(replicas.map(memoryOf)) });
      await sleep(5000);
    }
  })();

  const worker = async (email: string) => {
    const bearer = bearers.get(email) as string;
    while (running()) {
      const replica = replicas[Math.floor(Math.random() * replicas.length)];
      const path = PATHS[Math.floor(Math.random() * PATHS.length)];
      const t0 = Date.now();
      let status = 'no answer';
      let error = '';
      try {
        const res = await fetch(`${replica.url}${path}`, { headers: { authorization: `Bearer ${bearer}` }, signal: AbortSignal.timeout(REQUEST_BOUND_MS * 3) });
        status = String(res.status);
        const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
        error = body.error ?? '';
        if (error && !tally.messages.has(`${status} ${error}`)) tally.messages.set(`${status} ${error}`, body.message ?? '');
      } catch (err) {
        status = (err as Error).name === 'TimeoutError' ? 'client timeout' : 'network error';
      }
      const ms = Date.now() - t0;
      tally.requests++;
      tally.durations.push(ms);
      const label = error ? `${status} ${error}` : status;
      tally.byStatus.set(label, (tally.byStatus.get(label) ?? 0) + 1);
      if (error === 'reauth_required') tally.reauth++; // nobody revokes anything here: every one is spurious
      if (status === '500') tally.serverErrors500++;
      if (ms > REQUEST_BOUND_MS || status === 'client timeout') tally.overBound++;
      await sleep(20 + Math.random() * 30);
    }
  };
  await Promise.all([...users.map(worker), sampler]);
  timers.forEach(clearInterval);

  // Faults off; background writes of refreshed tokens get a moment to land (their backoff starts at 200 ms).
  const faultsInjected = { s3: s3faults.hits, google: gfaults.hits, droppedApiAnswers };
  s3proxy.clear();
  gproxy.clear();
  await sleep(5000);

  const lost = await lostRefreshTokens(world, users);
  const unparseable = await unparseableObjects(world);
  const finalFailures: string[] = [];
  for (const email of users) {
    for (const r of replicas) {
      const res = await fetch(`${r.url}${PATHS[0]}`, { headers: { authorization: `Bearer ${bearers.get(email)}` } });
      if (res.status !== 200) finalFailures.push(`${email} on ${r.url}: ${res.status} ${await res.text()}`);
    }
  }
  const memoryCheck = memoryVerdict(memory);

  const sorted = [...tally.durations].sort((x, y) => x - y);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  const checks: Array<[string, boolean, string]> = [
    ['lost refresh tokens', lost.length === 0, `${lost.length}${lost.length ? ` (${lost.join('; ')})` : ''}`],
    ['unparseable objects', unparseable.bad.length === 0, `${unparseable.bad.length} of ${unparseable.total}`],
    ['spurious reauth_required', tally.reauth === 0, String(tally.reauth)],
    ['500 answers', tally.serverErrors500 === 0, String(tally.serverErrors500)],
    [`requests over ${REQUEST_BOUND_MS} ms`, tally.overBound === 0, `${tally.overBound} (p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${sorted.at(-1) ?? 0} ms)`],
    ['memory flat after warm-up (heap floor and RSS)', memoryCheck.flat, memoryCheck.text],
    ['calls after the soak', finalFailures.length === 0, finalFailures.length ? finalFailures.slice(0, 5).join('; ') : `all ${users.length * replicas.length} succeed`],
  ];

  const lines = [
    `soak: ${SECONDS} s, 2 replicas (separate processes), ${USERS} users, rotation on, access tokens expired every ${EXPIRE_EVERY_MS / 1000} s per user once ${TOKEN_MIN_AGE_MS / 1000} s old`,
    `  requests: ${tally.requests} (${(tally.requests / SECONDS).toFixed(0)}/s); answers: ${[...tally.byStatus.entries()].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} x${v}`).join(', ')}`,
    `  faults injected: S3 ${faultsInjected.s3} (${S3_FAULT_RATE * 100}%), Google ${faultsInjected.google} (${GOOGLE_FAULT_RATE * 100}%) + ${faultsInjected.droppedApiAnswers} dropped API answers`,
    `  Google refreshes: ${world.google.refreshCount()}`,
    ...[...tally.messages.entries()].map(([kind, message]) => `  ${kind}: "${message}"`),
    ...checks.map(([name, ok, detail]) => `  ${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`),
    `  took ${((Date.now() - startedAt) / 1000).toFixed(0)} s in all`,
  ];
  console.log(lines.join('\n'));
  const failed = checks.filter(([, ok]) => !ok).length;
  if (process.env.SOAK_REPORT) {
    writeFileSync(process.env.SOAK_REPORT, JSON.stringify({ numPassedTests: checks.length - failed, numFailedTests: failed, numRuntimeErrorTestSuites: 0, soak: lines }));
  }

  await Promise.all(replicas.map((r) => r.stop()));
  await s3proxy.stop();
  await gproxy.stop();
  await world.close();
  return failed === 0 ? 0 : 1;
}

/** Users whose stored refresh token Google no longer accepts (or who have none stored). */
async function lostRefreshTokens(world: World, users: string[]): Promise<string[]> {
  const lost: string[] = [];
  for (const email of users) {
    const doc = await readJson(world, `credentials/${email}.json`).catch(() => undefined);
    const rt = (doc as { refresh_token?: string } | undefined)?.refresh_token;
    if (!rt) lost.push(`${email}: nothing stored`);
    else if (!world.google.refreshTokenWorks(rt)) lost.push(`${email}: Google refuses the stored one`);
  }
  return lost;
}

/** Every object in the bucket must be whole JSON. */
async function unparseableObjects(world: World): Promise<{ total: number; bad: string[] }> {
  const bad: string[] = [];
  let total = 0;
  let token: string | undefined;
  do {
    const page = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      total++;
      await readJson(world, o.Key ?? '').catch(() => bad.push(o.Key ?? ''));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { total, bad };
}

async function readJson(world: World, key: string): Promise<unknown> {
  const out = await world.admin.send(new GetObjectCommand({ Bucket: world.bucket, Key: key }));
  return JSON.parse((await out.Body?.transformToString()) ?? '');
}

/** RSS and V8 heap in use of a replica, in MB, from its /metrics. */
async function memoryOf(replica: Replica): Promise<{ rss: number; heap: number }> {
  const text = await fetch(replica.metricsUrl).then((r) => r.text(), () => '');
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1048576;
  return { rss: read('broker_process_resident_memory_bytes'), heap: read('broker_nodejs_heap_size_used_bytes') };
}

/**
 * Flat after the warm-up (the first third of the run), on each replica, judged on the middle and last thirds:
 * - the live heap does not grow: its floor (the least heap in use seen, i.e. after a major collection) in the last
 *   third is within 15% (+8 MB) of the middle third's. A leak of JS objects lifts the floor, whatever the GC pacing;
 * - and RSS does not grow either: the median RSS of the last third is within 20% (+16 MB of allocator slack) of the
 *   middle third's, or, where V8 let garbage pile up for longer (at a higher request rate it grows its heap before a
 *   major collection, and RSS follows), it stays under 75% of the Deployment's 512 MiB limit while the heap floor
 *   is flat. Medians, not peaks: one sample says little about a heap that sawtooths by 100 MB.
 */
function memoryVerdict(samples: Array<{ t: number; mem: Array<{ rss: number; heap: number }> }>): { flat: boolean; text: string } {
  if (samples.length < 6) return { flat: false, text: `only ${samples.length} memory samples; run longer (SOAK_SECONDS >= 30)` };
  const third = Math.floor(samples.length / 3);
  const warm = samples.slice(third, 2 * third);
  const late = samples.slice(2 * third);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const RSS_CEILING_MB = 384;
  const parts: string[] = [];
  let flat = true;
  for (let r = 0; r < samples[0].mem.length; r++) {
    const rssWarm = median(warm.map((x) => x.mem[r].rss));
    const rssLate = median(late.map((x) => x.mem[r].rss));
    const floor = (xs: typeof samples) => Math.min(...xs.map((x) => x.mem[r].heap));
    const heapFlat = floor(late) <= floor(warm) * 1.15 + 8;
    const rssFlat = rssLate <= rssWarm * 1.2 + 16;
    const ok = Number.isFinite(rssWarm + rssLate) && heapFlat && (rssFlat || rssLate <= RSS_CEILING_MB);
    flat &&= ok;
    const rule = !heapFlat ? 'heap floor grew' : rssFlat ? 'RSS median flat' : rssLate <= RSS_CEILING_MB ? `RSS median under ${RSS_CEILING_MB} MB` : 'RSS grew';
    parts.push(`replica ${r + 1}: RSS ${samples[0].mem[r].rss.toFixed(0)} MB at start, median ${rssWarm.toFixed(0)} -> ${rssLate.toFixed(0)} MB, heap floor ${floor(warm).toFixed(0)} -> ${floor(late).toFixed(0)} MB (${rule})`);
  }
  return { flat, text: parts.join('; ') };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('soak failed to run:', err);
    if (process.env.SOAK_REPORT) writeFileSync(process.env.SOAK_REPORT, JSON.stringify({ numPassedTests: 0, numFailedTests: 1, numRuntimeErrorTestSuites: 0 }));
    process.exit(1);
  },
);
