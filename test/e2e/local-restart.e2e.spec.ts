import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_GOOGLE_SCOPES, startLocal, type LocalStack } from '../../scripts/start-local.js';
import { CapturedLogger } from '../support/captured-logger.js';
import { freePorts, startSignIn } from '../support/harness.js';
import { Browser } from '../support/http-client.js';

/**
 * `npm run start:local` restarted (scripts/start-local.ts, the function the command runs): everything a signed-in
 * person depends on is kept under LOCAL_DATA_DIR, so the bearer from before the restart still reaches Google.
 */
describe('start:local restarted keeps every signed-in user signed in', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let stack: LocalStack | undefined;
  // Every start, finished or not, is stopped after the suite: a test that timed out during a restart goes on in the
  // background, and the stack it then finishes starting would hold its ports and keep jest alive.
  const starts: Array<Promise<LocalStack>> = [];
  let ended = false;
  const logs = new CapturedLogger();
  const start = async () => {
    if (ended) throw new Error('not starting start:local: the suite is over (a test body that timed out went on)');
    const starting = startLocal({ env, say: () => undefined, logger: logs, logDestination: logs });
    starts.push(starting);
    return (stack = await starting);
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'local-restart-'));
    const [port, s3Port, googlePort, metricsPort] = (await freePorts(4)).map(String);
    env = { LOCAL_DATA_DIR: dataDir, PORT: port, LOCAL_S3_PORT: s3Port, LOCAL_GOOGLE_PORT: googlePort, METRICS_PORT: metricsPort };
  });
  afterAll(async () => {
    ended = true;
    try {
      for (const started of await Promise.allSettled(starts)) if (started.status === 'fulfilled') await started.value.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const call = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${stack?.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  async function signIn(email: string): Promise<string> {
    const local = stack as LocalStack;
    const browser = new Browser();
    const callback = await (local.google as NonNullable<LocalStack['google']>).approve(await startSignIn(local, browser, email), { email });
    const res = await browser.get(callback);
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  it('answers 200 to the old bearer after a restart, refreshes with the old Google grant, and keeps the Workspace data', async () => {
    await start();
    const ann = await signIn('ann@example.com');
    const bob = await signIn('bob@example.com');
    const task = await call('POST', '/v1/users/me/tasks/lists/@default/tasks', ann, { title: 'written before the restart' });
    expect(task.status).toBe(201); // the local default scopes include tasks (write): every route works at once
    const taskId = ((await task.json()) as { id: string }).id;

    await stack?.stop();
    await start();

    for (const token of [ann, bob]) {
      const session = await call('GET', '/auth/session', token);
      expect(session.status).toBe(200);
      const mail = await call('GET', '/v1/users/me/gmail/messages', token);
      expect(mail.status).toBe(200); // not 401 reauth_required: Google (the emulator) still knows the grant
    }
    // Google's access token ran out while the stack was down: the service refreshes with the kept refresh token.
    stack?.google?.expireAccessTokens('ann@example.com');
    const tasks = await call('GET', '/v1/users/me/tasks/lists/@default/tasks', ann);
    expect(tasks.status).toBe(200);
    expect(((await tasks.json()) as { tasks: Array<{ id: string }> }).tasks.map((t) => t.id)).toContain(taskId);
    expect(stack?.google?.refreshCount('ann@example.com')).toBe(1);
  });

  it('asks Google for every scope the Workspace routes need when the emulator stands in for Google', async () => {
    const browser = new Browser();
    const authorize = new URL(await startSignIn(stack as LocalStack, browser));
    const asked = (authorize.searchParams.get('scope') ?? '').split(' ');
    expect(asked).toEqual(expect.arrayContaining(LOCAL_GOOGLE_SCOPES));
    expect(LOCAL_GOOGLE_SCOPES).toEqual(expect.arrayContaining(['https://www.googleapis.com/auth/gmail.send', 'https://www.googleapis.com/auth/drive.file', 'https://www.googleapis.com/auth/calendar', 'https://www.googleapis.com/auth/tasks']));
  });
});
