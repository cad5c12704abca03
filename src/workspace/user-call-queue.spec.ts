import { PassThrough } from 'node:stream';
import type { AppConfig } from '../config/app-config.js';
import { DomainError } from '../common/domain-error.js';
import { Metrics } from '../observability/metrics.js';
import { UserCallLimit } from './user-call-limit.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

function limitOf(perUser: number, queued: number, maxWaitMs = 10_000) {
  const metrics = new Metrics();
  const config = { values: { workspace: { callsPerUser: perUser, callsQueuedPerUser: queued }, google: { httpTimeoutMs: maxWaitMs } } } as AppConfig;
  return { limit: new UserCallLimit(config, metrics), metrics };
}

/** A call that runs until the test ends it; `started` says whether it got a slot and ran. */
function heldCall(limit: UserCallLimit, email: string, label: string, log: string[]) {
  let finish!: (fail?: Error) => void;
  const ended = new Promise<void>((resolve, reject) => (finish = (fail) => (fail ? reject(fail) : resolve())));
  const state = { started: false };
  const result = limit.run(email, 'Gmail', async () => {
    state.started = true;
    log.push(label);
    await ended;
    return label;
  });
  return { result, state, finish: (fail?: Error) => finish(fail) };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('UserCallLimit: a burst beyond the limit waits its turn, a flood is refused', () => {
  it('runs at most the limit at once, lets the next calls wait in arrival order, and refuses one beyond the queue at once', async () => {
    const { limit } = limitOf(2, 2);
    const log: string[] = [];
    const calls = ['r1', 'r2', 'w1', 'w2'].map((label) => heldCall(limit, ALICE, label, log));
    await tick();
    expect(log).toEqual(['r1', 'r2']);
    expect([limit.count(ALICE), limit.waiting(ALICE)]).toEqual([2, 2]);

    const refused = await limit.run(ALICE, 'Gmail', async () => 'ran').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ status: 429, error: 'too_many_requests', headers: { 'Retry-After': '1' } });
    expect((refused as Error).message).toContain('already has 2 Google Workspace calls running on this server and 2 more waiting');

    // Bob is not behind Alice's queue.
    await expect(limit.run(BOB, 'Gmail', async () => 'bob')).resolves.toBe('bob');

    // A running call that fails hands its slot to the first waiting call, not to the later one.
    calls[1].finish(new Error('Google failed'));
    await expect(calls[1].result).rejects.toThrow('Google failed');
    await tick();
    expect(log).toEqual(['r1', 'r2', 'w1']);
    expect([limit.count(ALICE), limit.waiting(ALICE)]).toEqual([2, 1]);

    calls[0].finish();
    await tick();
    expect(log).toEqual(['r1', 'r2', 'w1', 'w2']);
    calls[2].finish();
    calls[3].finish();
    expect(await Promise.all([calls[0].result, calls[2].result, calls[3].result])).toEqual(['r1', 'w1', 'w2']);
    expect([limit.count(ALICE), limit.waiting(ALICE), limit.userCount]).toEqual([0, 0, 0]);
  });

  it('refuses a call that waited GOOGLE_HTTP_TIMEOUT_MS without running it, and the slots stay right', async () => {
    const { limit, metrics } = limitOf(1, 4, 60);
    const log: string[] = [];
    const running = heldCall(limit, ALICE, 'r1', log);
    const waiter = heldCall(limit, ALICE, 'late', log);
    const refused = await waiter.result.catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 429, error: 'too_many_requests' });
    expect((refused as Error).message).toContain("waited too long for one of this user's 1 Google Workspace calls");
    expect(waiter.state.started).toBe(false);
    expect([limit.count(ALICE), limit.waiting(ALICE)]).toEqual([1, 0]);

    running.finish();
    await running.result;
    expect(limit.userCount).toBe(0);
    await expect(limit.run(ALICE, 'Gmail', async () => 'again')).resolves.toBe('again');
    const text = await metrics.registry.getSingleMetricAsString('broker_workspace_calls_refused_total');
    expect(text).toContain('broker_workspace_calls_refused_total{api="gmail",reason="waited_too_long"} 1');
  });

  it('lets a waiting download take the slot a finished stream gives back', async () => {
    const { limit } = limitOf(1, 1);
    const body = new PassThrough();
    await limit.runStreaming(ALICE, 'Drive', async () => body, (b) => b, 60_000);
    let second = false;
    const next = limit.run(ALICE, 'Drive', async () => (second = true));
    await tick();
    expect(second).toBe(false);
    body.destroy();
    await next;
    expect(second).toBe(true);
    expect(limit.userCount).toBe(0);
  });

  it('counts a full queue in the metric with its reason and no user', async () => {
    const { limit, metrics } = limitOf(1, 0);
    const log: string[] = [];
    const running = heldCall(limit, ALICE, 'r1', log);
    await limit.run(ALICE, 'Gmail', async () => 'x').catch(() => undefined);
    running.finish();
    await running.result;
    const text = await metrics.registry.getSingleMetricAsString('broker_workspace_calls_refused_total');
    expect(text).toContain('broker_workspace_calls_refused_total{api="gmail",reason="queue_full"} 1');
    expect(text).not.toContain('@');
  });
});
