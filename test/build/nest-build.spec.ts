import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, serviceEnv, signIn, startWorld, type World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';
import { isAlive, ProcessGroups, type GroupProcess } from '../support/process-groups.js';

/**
 * The Nest CLI as a developer and the Dockerfile use it: `npm run build` (`nest build`, configured by nest-cli.json)
 * emits a service that `node main.js` runs as in production, and `npm run start:dev` (`nest start --watch`) serves
 * and restarts on a source change. Each run compiles into its own directory under .local-build (a tsconfig that only
 * moves `outDir`), so dist/ and start:local's build are left alone; inside the project, so `node_modules` resolves.
 */
const OUT = '.local-build';

/** A tsconfig that is tsconfig.build.json with its output under .local-build/<name>; returns its path. */
function buildConfig(name: string): { config: string; outDir: string } {
  mkdirSync(OUT, { recursive: true });
  const config = join(OUT, `${name}.tsconfig.json`);
  writeFileSync(config, JSON.stringify({ extends: '../tsconfig.build.json', compilerOptions: { outDir: name } }));
  return { config, outDir: join(OUT, name) };
}

/** The environment of a child process: the test's own, without jest's NODE_OPTIONS (ESM VM modules), plus `extra`. */
function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _jestFlags, ...env } = process.env;
  return { ...env, LOG_LEVEL: 'info', ...extra };
}

/** Polls until `url` answers `status`, failing with the process output after `timeoutMs`. */
async function until(url: string, status: number, proc: GroupProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await fetch(url).then((r) => r.status, () => 0);
    if (got === status) return;
    if (proc.child.exitCode !== null) throw new Error(`process exited (${proc.child.exitCode}) before ${url} answered ${status}:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last ${got}):\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until `output()` matches `pattern`. */
async function untilOutput(proc: GroupProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(proc.output())) {
    if (proc.child.exitCode !== null) throw new Error(`process exited (${proc.child.exitCode}) before printing ${pattern}:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

describe('the Nest CLI build (nest-cli.json)', () => {
  let world: World;
  // Every command runs in a process group of its own (npm starts a shell, node, the Nest CLI, tsc, the service), and
  // these are stopped whole, whatever a test did: what a command started is stopped with it, even once it is gone.
  const commands = new ProcessGroups(); // the build and the bundle it made
  const watchers = new ProcessGroups(); // start:dev, stopped by its test before the source is put back
  const outputs: string[] = []; // each build's tsconfig and output directory, removed at the end
  // Puts back the source the watch test saved, while it is changed: also from afterAll, since a test that timed out
  // is not waited for (its own finally may never run before jest exits, and the saved line stayed in src/main.ts).
  let putBack: (() => void) | undefined;

  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    let left: number[];
    try {
      left = [...(await watchers.stopAll({ final: true })), ...(await commands.stopAll({ final: true }))];
    } finally {
      putBack?.(); // once the watcher is stopped: it must not see the source put back
      await world?.close();
      for (const path of outputs) rmSync(path, { recursive: true, force: true });
    }
    // By PID: every process seen in the commands' trees is gone.
    expect(left).toEqual([]);
    expect([...commands.pids, ...watchers.pids].filter(isAlive)).toEqual([]);
  });

  it('`npm run build` compiles with nest-cli.json and bundles; `node main.bundle.mjs` serves ready, Swagger UI files and sign-in, and exits 0 on SIGTERM', async () => {
    const { config, outDir } = buildConfig('nest-build-spec');
    outputs.push(config, outDir);
    // nest-cli.json's deleteOutDir: a file left from an earlier build is gone after this one.
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'left-over.js'), 'throw new Error("stale output");\n');

    const build = commands.spawn('npm', ['run', 'build', '--', '--path', config], childEnv({}));
    expect(await build.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(join(outDir, 'left-over.js'))).toBe(false);
    expect(existsSync(join(outDir, 'main.js'))).toBe(true);
    // The bundle follows the tsconfig the compile used (scripts/build.mjs), beside its output.
    const main = join(outDir, 'main.bundle.mjs');
    expect(existsSync(main)).toBe(true);

    // Production's start: plain `node main.bundle.mjs` (the Dockerfile's CMD), configuration from the environment.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const service = commands.spawn(process.execPath, [main], childEnv(serviceEnv(world, port)));
    await until(`${url}/health/ready`, 200, service, 30_000);
    commands.sample();

    // Swagger UI's files come from @fastify/static; the sign-in's flow cookie from @fastify/cookie.
    const css = await fetch(`${url}/docs/swagger-ui.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect((await css.text()).length).toBeGreaterThan(1000);
    const signedIn = await signIn({ url }, world, 'built@example.com');
    expect(signedIn).toMatchObject({ token_type: 'Bearer', email: 'built@example.com' });
    const session = await fetch(`${url}/auth/session`, { headers: { authorization: `Bearer ${signedIn.access_token}` } });
    expect(session.status).toBe(200);
    // What the bundle leaves in node_modules and loads on first use: the Gmail client with Google's auth library,
    // and the MCP SDK.
    const mail = await fetch(`${url}/v1/users/me/gmail/messages`, { headers: { authorization: `Bearer ${signedIn.access_token}` } });
    expect(mail.status).toBe(200);
    expect(await mail.json()).toHaveProperty('messages');
    const tools = await rawMcp(`${url}/mcp`, signedIn.access_token, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, '2025-11-25');
    expect(tools.status).toBe(200);
    expect(tools.json.result.tools.length).toBeGreaterThan(5);
    // Lines are written in batches (4 KB, or every 100 ms): a lone request line of a quiet replica still reaches
    // stdout while it runs, not only at exit.
    const lineSeen = Date.now();
    while (!/"route":"\/auth\/session".*"status":200/.test(service.output()) && Date.now() - lineSeen < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(service.output()).toMatch(/"route":"\/auth\/session".*"status":200/);

    const t0 = Date.now();
    service.child.kill('SIGTERM');
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(service.output()).toMatch(/"msg":"shutting down".*"signal":"SIGTERM"/);
    // The lines queued just before exit are flushed by it, in order.
    expect(service.output()).toMatch(/"msg":"draining: readiness now fails"[^\n]*\n?$/);
    expect(service.output()).not.toMatch(/"level":"(error|fatal)"|"level":[56]0\b/);
  }, 150_000);

  it('`npm run start:dev` (nest start --watch) serves, and restarts the service when a source file changes', async () => {
    const { config, outDir } = buildConfig('nest-watch-spec');
    outputs.push(config, outDir);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dev = watchers.spawn('npm', ['run', 'start:dev', '--', '--preserveWatchOutput', '--path', config], childEnv(serviceEnv(world, port)));
    await until(`${url}/health/live`, 200, dev, 120_000);
    watchers.sample(); // npm, the Nest CLI's watcher and the service it started
    // The log is written in batches (LOG_BATCH_BYTES, flushed every LOG_FLUSH_MS), so the boot line can reach stdout
    // after the first 200: it is awaited, not expected at that moment.
    const boot = /"msg":"Nest application successfully started"/;
    await untilOutput(dev, boot, 60_000);
    expect(count(dev.output(), boot)).toBe(1);

    // Save a source as an editor does (a comment line added; an mtime-only touch is not a change to tsc's watcher).
    // Afterwards the watcher is stopped first, then the file's bytes and mtime are put back, so start:local's
    // "no source changed, no compile" check sees nothing.
    const source = 'src/main.ts';
    const original = readFileSync(source);
    const { atime, mtime } = statSync(source);
    putBack = () => {
      writeFileSync(source, original);
      utimesSync(source, atime, mtime);
      putBack = undefined;
    };
    try {
      writeFileSync(source, Buffer.concat([original, Buffer.from('// saved by test/build/nest-build.spec.ts\n')]));
      await untilOutput(dev, /"msg":"shutting down"/, 60_000); // the running service is stopped...
      await untilOutput(dev, new RegExp(`(${boot.source}[\\s\\S]*){2}`), 60_000); // ...and a new one boots
      await until(`${url}/health/live`, 200, dev, 30_000);
      expect(readFileSync(join(outDir, 'main.js'), 'utf8')).toContain('saved by test/build/nest-build.spec.ts');
    } finally {
      await watchers.stopAll();
      putBack?.();
    }
  }, 240_000);
});
