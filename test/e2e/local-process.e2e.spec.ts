import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../support/harness.js';
import { isAlive, ProcessGroups, type GroupProcess } from '../support/process-groups.js';

/**
 * `npm run start:local` as a person runs it (the npm process, the launcher, the compiled stack): signals to the npm
 * process stop everything it started; a port in use is reported at once naming its variable; a start with no source
 * change does not compile.
 */
/** Starts `npm run start:local` in a process group of `groups`, so the suite's hooks can stop its whole tree. */
function startLocal(groups: ProcessGroups, env: Record<string, string>): GroupProcess {
  return groups.spawn('npm', ['run', 'start:local'], { ...process.env, LOG_LEVEL: 'warn', ...env });
}

async function ready(run: GroupProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!/Workspace credential broker on/.test(run.output())) {
    if (run.child.exitCode !== null) throw new Error(`start:local exited: ${run.output()}`);
    if (Date.now() > deadline) throw new Error(`start:local not ready after ${timeoutMs} ms: ${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

describe('npm run start:local as a process', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let ports: number[];
  // Every stack is stopped by these hooks, whole (npm, the launcher and what they started), whatever a test did: a
  // test that fails or times out half-way no longer leaves a stack holding ports past the run.
  const stacks = new ProcessGroups(); // the first test's; the later tests use the one it leaves running
  const probes = new ProcessGroups(); // each port-in-use test's second start, which should exit at once
  let running: GroupProcess | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'local-process-'));
    ports = await freePorts(4);
    env = { LOCAL_DATA_DIR: dataDir, PORT: String(ports[0]), LOCAL_S3_PORT: String(ports[1]), LOCAL_GOOGLE_PORT: String(ports[2]), METRICS_PORT: String(ports[3]) };
  });
  afterEach(() => probes.stopAll());
  afterAll(async () => {
    let left: number[];
    try {
      left = [...(await probes.stopAll({ final: true })), ...(await stacks.stopAll({ final: true }))];
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    // By PID: every process seen in the stacks' trees (the npm process, the launcher, a compile) is gone.
    expect(left).toEqual([]);
    expect([...stacks.pids, ...probes.pids].filter(isAlive)).toEqual([]);
  });

  it('stops every process it started, drained, on SIGTERM to the npm process; a second start compiles nothing', async () => {
    running = startLocal(stacks, env);
    await ready(running, 240_000); // the first start may compile the whole project
    stacks.sample(); // the tree's PIDs, for the check after the suite
    expect((await fetch(`http://127.0.0.1:${ports[0]}/health/ready`)).status).toBe(200);
    // The metrics on their own port, never on the public one.
    expect((await fetch(`http://127.0.0.1:${ports[3]}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports[0]}/metrics`)).status).toBe(404);

    running.child.kill('SIGTERM'); // to npm, as a process manager or `kill <npm pid>` does
    expect(await running.exited).toEqual({ code: 0, signal: null });
    expect(running.output()).toContain('SIGTERM: stopping');
    expect(running.output()).toContain(`Stopped. Sign-ins and data stay in ${dataDir}`);
    for (const port of ports) expect(await isFree(port)).toBe(true); // nothing left listening: no orphan
    expect([...running.pids].filter(isAlive)).toEqual([]); // nor any process of its tree

    const t0 = Date.now();
    running = startLocal(stacks, { ...env, LOG_LEVEL: 'info' }); // the default a person sees: the service's lines too
    await ready(running, 60_000);
    stacks.sample();
    expect(running.output()).not.toMatch(/compiling/i);
    const launcher = /ready in [\d.]+ s, [\d.]+ s CPU/.exec(running.output())?.[0];
    process.stdout.write(`repeated start:local: ${((Date.now() - t0) / 1000).toFixed(1)} s from \`npm run\` to ready (launcher: ${launcher}; no compile)\n`);
  }, 360_000);

  it.each([
    ['PORT', 0],
    ['LOCAL_S3_PORT', 1],
    ['LOCAL_GOOGLE_PORT', 2],
    ['METRICS_PORT', 3],
  ])('reports a port in use at once, naming %s', async (variable, i) => {
    // The stack of the test above still runs: give the second one free ports except the one under test.
    const [port, s3Port, googlePort, metricsPort] = (await freePorts(4)).map(String);
    const others = { PORT: port, LOCAL_S3_PORT: s3Port, LOCAL_GOOGLE_PORT: googlePort, METRICS_PORT: metricsPort };
    const second = startLocal(probes, { ...env, ...others, [variable]: String(ports[i as number]) });
    const t0 = Date.now();
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toContain(`port ${ports[i as number]} (${variable}) is already in use`);
    expect(Date.now() - t0).toBeLessThan(15_000); // before any install or compile (those take far longer)
  }, 30_000);

  it('stops on SIGINT (Ctrl-C) too, with every port freed, and says so last', async () => {
    const run = running as GroupProcess; // the second start of the first test, at LOG_LEVEL=info
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    for (const port of ports) expect(await isFree(port)).toBe(true);
    // The last thing on the terminal says the stop finished, after the service's own shutdown lines (the readable
    // log is written by a worker thread, which used to print "draining" after it).
    const lines = run.output().trim().split('\n');
    expect(run.output()).toMatch(/draining/);
    expect(lines[lines.length - 1]).toContain(`Stopped. Sign-ins and data stay in ${dataDir}`);
  }, 30_000);
});
