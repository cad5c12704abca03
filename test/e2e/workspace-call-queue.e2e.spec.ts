import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { getWithBearer, signIn, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';
import { UserCallLimit } from '../../src/workspace/user-call-limit.js';

const LIMIT = 3;
const QUEUED = 2;
const ALICE = 'alice-queue@example.com';
const BOB = 'bob-queue@example.com';
const LABELS = '/v1/users/me/gmail/labels';

/**
 * WORKSPACE_CALLS_QUEUED_PER_USER, end to end: with LIMIT of a user's calls held at Google (the emulator), the next
 * QUEUED calls wait without reaching Google, one more is refused at once, another user is not held up, and once
 * Google answers every waiting call is answered too. A burst waits; only a flood is refused.
 */
describe('Workspace calls per user: a burst waits for a slot, a flood beyond the queue is refused', () => {
  let world: World;
  let sut: Service;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService({
      GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES,
      WORKSPACE_CALLS_PER_USER: String(LIMIT),
      WORKSPACE_CALLS_QUEUED_PER_USER: String(QUEUED),
      GOOGLE_HTTP_TIMEOUT_MS: '30000',
    }));
    alice = (await signIn(sut, world, ALICE)).access_token;
    bob = (await signIn(sut, world, BOB)).access_token;
    for (const t of [alice, bob]) expect((await getWithBearer(sut, LABELS, t)).status).toBe(200);
  });
  afterAll(() => stopAll(world, sut));

  it('holds LIMIT at Google, queues QUEUED without sending them, refuses the next at once, and answers all the rest', async () => {
    const holds = Array.from({ length: LIMIT }, () => world.google.holdNext('api'));
    const running: Array<Promise<number>> = [];
    for (const hold of holds) {
      running.push(getWithBearer(sut, LABELS, alice).then((r) => r.status));
      await hold.arrived;
    }
    expect((await getWithBearer(sut, LABELS, bob)).status).toBe(200); // Bob is not behind Alice's calls
    // The next hold would catch a waiting call that reached Google: none may, while the LIMIT are held.
    const leak = world.google.holdNext('api');
    let leaked = false;
    void leak.arrived.then(() => (leaked = true));
    const waiting = Array.from({ length: QUEUED }, () => getWithBearer(sut, LABELS, alice).then((r) => r.status));
    // The waiting calls are in the user's queue before the next call comes: waited for there, not assumed 300 ms
    // after they were sent (on a busy machine that call could come first, and be queued in their place).
    const limit = sut.app.get(UserCallLimit);
    for (const deadline = Date.now() + 5000; limit.waiting(ALICE) < QUEUED; await new Promise((r) => setTimeout(r, 5))) {
      if (Date.now() > deadline) throw new Error(`${limit.waiting(ALICE)} of the ${QUEUED} calls are waiting after 5 s`);
    }
    const refusedAt = Date.now();
    const refused = await getWithBearer(sut, LABELS, alice);
    expect(Date.now() - refusedAt).toBeLessThan(2000);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({
      statusCode: 429,
      error: 'too_many_requests',
      message: expect.stringContaining(`already has ${LIMIT} Google Workspace calls running on this server and ${QUEUED} more waiting`),
    });
    // An MCP tool call of the same user finds the queue full too: a tool error saying what to do.
    const tool = await rawMcp(`${sut.url}/mcp`, alice, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_gmail_labels', arguments: {} } }, '2025-06-18');
    expect(tool.json.result.isError).toBe(true);
    expect(JSON.parse(tool.json.result.content[0].text)).toMatchObject({ statusCode: 429, error: 'too_many_requests', retryAfter: 1 });

    expect(leaked).toBe(false);

    leak.release(); // whichever waiting call reaches Google first passes straight through
    holds.forEach((h) => h.release());
    expect(await Promise.all([...running, ...waiting])).toEqual(Array(LIMIT + QUEUED).fill(200));
    expect((await getWithBearer(sut, LABELS, alice)).status).toBe(200);

    const metrics = await (await fetch(sut.metricsUrl)).text();
    expect(metrics).toMatch(/^broker_workspace_calls_refused_total\{api="gmail",reason="queue_full"\} 2$/m);
  });
});
