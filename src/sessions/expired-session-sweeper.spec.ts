import { jest } from '@jest/globals';
import type { AppConfig } from '../config/app-config.js';
import { Metrics } from '../observability/metrics.js';
import type { JsonObjectRepository } from '../storage/json-object.repository.js';
import { ExpiredSessionSweeper } from './expired-session-sweeper.js';

/** The sweep's schedule (what it deletes is covered against a real S3 in test/e2e/session-sweep). */
describe('ExpiredSessionSweeper schedule', () => {
  let listings: number;
  const objects = {
    async *listAllWithDates() {
      listings += 1;
      yield* [];
    },
  } as unknown as JsonObjectRepository;
  const config = (minutes: number) =>
    ({ values: { s3: { sessionPrefix: 'sessions/' }, sessions: { sweepIntervalMinutes: minutes }, jwt: { ttlSeconds: 3600 }, oauth: { refreshTokenTtlSeconds: 86400 } } }) as unknown as AppConfig;

  beforeEach(() => {
    listings = 0;
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('sweeps once within the first interval, then once per interval, and never after shutdown', async () => {
    const sweeper = new ExpiredSessionSweeper(objects, new Metrics(), config(10));
    sweeper.onApplicationBootstrap();
    expect(listings).toBe(0); // boot lists nothing
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    expect(listings).toBe(1);
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    expect(listings).toBe(2);
    await sweeper.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(60 * 60_000);
    expect(listings).toBe(2);
  });

  it('SESSION_SWEEP_INTERVAL_MINUTES=0 turns it off', async () => {
    const sweeper = new ExpiredSessionSweeper(objects, new Metrics(), config(0));
    sweeper.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(7 * 24 * 60 * 60_000);
    expect(listings).toBe(0);
  });

  it('a sweep that cannot list S3 is tried again an interval later', async () => {
    let failing = true;
    const flaky = {
      async *listAllWithDates() {
        listings += 1;
        if (failing) throw new Error('S3 unreachable');
        yield* [];
      },
    } as unknown as JsonObjectRepository;
    const sweeper = new ExpiredSessionSweeper(flaky, new Metrics(), config(5));
    sweeper.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(5 * 60_000);
    expect(listings).toBe(1);
    failing = false;
    await jest.advanceTimersByTimeAsync(5 * 60_000);
    expect(listings).toBe(2);
    await sweeper.onApplicationShutdown();
  });
});
