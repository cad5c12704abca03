import { readFileSync } from 'node:fs';
import { imageEnv } from '../../bench/image-runtime.js';
import { getWithBearer, signIn, startWorld, World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';
import { buildForReplicas, startReplica, type Replica } from '../support/replica.js';

/**
 * The built service on the Node it is started with, as the image starts it: `node main.bundle.mjs`, no flags. In
 * `npm run test:e2e:image-node` that Node is the production image's (SERVICE_NODE, with SERVICE_NODE_VERSION the
 * Dockerfile's version, scripts/image-node.mjs), elsewhere this machine's. A runtime can change what the service
 * writes without any code changing: Node 24 warns about url.parse() (DEP0169) at every start where Node 20 is silent,
 * and a plain-text "(node:1) [DEP0169] ..." line breaks a log pipeline that reads one JSON object per line.
 */
describe('the built service on the Node it runs on', () => {
  let world: World;
  let main: string;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    main = buildForReplicas();
    world = await startWorld();
  }, 120_000);
  afterAll(async () => {
    for (const replica of replicas) await replica.stop();
    await world?.close();
  });

  /** Each line the process wrote that is not a JSON object (a plain-text warning, a stack trace). */
  function notJson(replica: Replica): string[] {
    return replica
      .rawOutput()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => {
        try {
          const parsed: unknown = JSON.parse(l);
          return typeof parsed !== 'object' || parsed === null;
        } catch {
          return true;
        }
      });
  }

  /** The Node version the service process reports on its metrics (prom-client's nodejs_version_info). */
  async function reportedNode(replica: Replica): Promise<string | undefined> {
    const metrics = await (await fetch(replica.metricsUrl)).text();
    return /^broker_nodejs_version_info\{version="(v[^"]+)"/m.exec(metrics)?.[1];
  }

  it('runs on the expected Node (SERVICE_NODE_VERSION, or this machine\'s), and writes no plain-text line at start', async () => {
    const replica = await startReplica(main, world, {});
    replicas.push(replica);
    // Without SERVICE_NODE_VERSION the child must run the tests' own Node; with it, exactly that version (a run
    // meant for the image's Node cannot fall back to this machine's and still pass).
    expect(await reportedNode(replica)).toBe(process.env.SERVICE_NODE_VERSION ?? process.version);
    // Lines are written in batches (every 100 ms at the latest): the boot line may follow the first 200 of /health/live.
    const started = /"msg":"Nest application successfully started"/;
    for (const deadline = Date.now() + 5000; !started.test(replica.rawOutput()) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    expect(replica.rawOutput()).toMatch(started);
    expect(notJson(replica)).toEqual([]);
  });

  it('runs with the environment the image sets (the Dockerfile\'s ENV lines) on the image\'s Node, the spec\'s own settings over it', async () => {
    const replica = await startReplica(main, world, {});
    replicas.push(replica);
    // What the process was started with, as Linux keeps it (NUL-separated KEY=value), not what the harness meant to pass.
    const environ = new Map(
      readFileSync(`/proc/${replica.pid}/environ`, 'latin1')
        .split('\0')
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as const),
    );
    const image = imageEnv();
    expect(image).toMatchObject({ NODE_ENV: 'production', MALLOC_ARENA_MAX: expect.any(String) });
    // PORT is the one the world gave this replica (a Deployment's env replaces the image's the same way).
    expect(environ.get('PORT')).toBe(new URL(replica.url).port);
    for (const [key, value] of Object.entries(image).filter(([k]) => k !== 'PORT')) {
      // Under `npm run test:e2e:image-node` the child runs as the image runs it; elsewhere on this machine's defaults.
      expect([key, environ.get(key)]).toEqual([key, process.env.SERVICE_NODE ? value : undefined]);
    }
  });

  it('writes only JSON lines, from the start through a sign-in, a Gmail and an MCP call, to exit 0 on SIGTERM', async () => {
    const replica = await startReplica(main, world, { LOG_LEVEL: 'debug' });
    replicas.push(replica);
    // The sign-in runs passport-oauth2, whose url.parse() Node 24 warns about; Gmail and MCP load the libraries the
    // bundle leaves in node_modules.
    const node = await reportedNode(replica);
    const { access_token } = await signIn(replica, world, 'runtime@example.com');
    expect((await getWithBearer(replica, '/v1/users/me/gmail/messages', access_token)).status).toBe(200);
    const tools = await rawMcp(`${replica.url}/mcp`, access_token, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }, '2025-11-25');
    expect(tools.status).toBe(200);
    replica.signal('SIGTERM');
    expect(await replica.exitCode()).toBe(0);

    const lines = replica.rawOutput().split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(10);
    expect(notJson(replica)).toEqual([]);
    // Each warning Node emitted is a JSON line of the service's own: a reviewed one (Node 24's DEP0169) at debug with
    // its reason, which an operator's log at info does not show; any other at warn. The only one expected at warn is
    // the AWS SDK's notice, on a Node before 22, that its 2027 releases need Node 22 (meant for an operator still on it).
    const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'process_warning');
    expect(warnings.filter((w) => w.level === 20 && typeof w.reviewed !== 'string')).toEqual([]);
    const major = Number(/^v(\d+)\./.exec(node ?? '')?.[1]);
    const atWarn = warnings.filter((w) => w.level !== 20).map((w) => w.detail);
    expect(atWarn).toEqual(major < 22 ? [expect.stringContaining('will require node >=22')] : []);
  }, 60_000);
});
