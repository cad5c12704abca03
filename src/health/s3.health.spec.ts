import { jest } from '@jest/globals';
import { Logger, type LoggerService } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { AppConfig } from '../config/app-config.js';
import { parseConfig } from '../config/config.schema.js';
import type { ConditionalWritesCheck } from '../storage/conditional-writes.check.js';
import type { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { NOT_READY_LOG_REPEAT_MS, S3HealthIndicator } from './s3.health.js';

const config = { values: parseConfig({ GOOGLE_CLIENT_ID: 'i', GOOGLE_CLIENT_SECRET: 's', S3_BUCKET: 'bkt', JWT_SECRET: 'x'.repeat(32), S3_LATENCY_WARN_MS: '20', S3_TIMEOUT_MS: '200' }) } as AppConfig;

/** An in-memory stand-in for the repository's probe, with a chosen delay or failure. */
function storage(probe: () => Promise<number>): JsonObjectRepository {
  return { ping: probe } as unknown as JsonObjectRepository;
}
/** An in-memory stand-in for the conditional-write check: each verify() takes the next outcome; a pass is remembered. */
function conditionalWrites(outcomes: Array<() => Promise<void>>) {
  const fake = {
    verified: false,
    runs: 0,
    verify: () => outcomes[fake.runs++]().then(() => void (fake.verified = true)),
  };
  return fake;
}
const honoured = conditionalWrites([]);
honoured.verified = true;
const after = (ms: number) => () => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms));

/** The lines the indicator logs (Nest's Logger, overridden for the spec). */
const logged: Array<{ level: string; line: Record<string, unknown> }> = [];
const capture = (level: string) => (line: unknown) => void logged.push({ level, line: line as Record<string, unknown> });
const captured: LoggerService = { log: capture('log'), warn: capture('warn'), error: capture('error') };

describe('S3HealthIndicator', () => {
  beforeAll(() => Logger.overrideLogger(captured));
  afterAll(() => Logger.overrideLogger(false));
  beforeEach(() => void (logged.length = 0));

  it('reports a fast S3 as up, not slow, with its latency and threshold, and names no bucket', async () => {
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(async () => 3), config, honoured as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toEqual({ s3: { status: 'up', latencyMs: 3, slow: false, thresholdMs: 20 } });
    expect(logged).toEqual([]);
  });

  it('reports S3 slower than S3_LATENCY_WARN_MS as up and slow (reported, not failed)', async () => {
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(after(40)), config, honoured as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toMatchObject({ s3: { status: 'up', slow: true, latencyMs: 40 } });
  });

  it('reports an S3 error as down with a reason code only; the guidance, which names the bucket, goes to the log', async () => {
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(() => Promise.reject(new StorageError('bucket_missing', 'S3 bucket "bkt" does not exist.'))), config, honoured as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toEqual({ s3: { status: 'down', latencyMs: expect.any(Number), reason: 'bucket_missing' } });
    expect(logged).toEqual([{ level: 'warn', line: expect.objectContaining({ event: 's3_not_ready', reason: 'bucket_missing', detail: 'S3 bucket "bkt" does not exist.' }) }]);
  });

  it.each([
    ['access_denied', 'access_denied'],
    ['bad_credentials', 'credentials_rejected'],
    ['timeout', 'timeout'],
    ['network', 'unreachable'],
    ['unknown', 's3_error'],
  ] as const)('answers a %s failure of the probe as reason %s', async (code, reason) => {
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(() => Promise.reject(new StorageError(code, `S3 failed on bucket "bkt" at s3.internal.example`))), config, honoured as unknown as ConditionalWritesCheck);
    const result = await sut.check();
    expect(result).toEqual({ s3: { status: 'down', latencyMs: expect.any(Number), reason } });
    expect(JSON.stringify(result)).not.toMatch(/bkt|internal/);
  });

  it('reports an S3 that does not answer within the timeout as down, reason timeout', async () => {
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(after(1000)), config, honoured as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toEqual({ s3: { status: 'down', latencyMs: expect.any(Number), reason: 'timeout' } });
    expect(logged[0].line).toMatchObject({ event: 's3_not_ready', reason: 'timeout', detail: expect.stringContaining('200 ms') });
  });

  it('logs a failure once per reason while probes repeat it, again when the reason changes or a minute passed, and once when S3 is back', async () => {
    let answer: () => Promise<number> = () => Promise.reject(new StorageError('network', 'S3 is unreachable (ECONNREFUSED) for bucket "bkt".'));
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(() => answer()), config, honoured as unknown as ConditionalWritesCheck);
    let now = 1_000_000;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      for (let i = 0; i < 10; i++) await sut.check(); // a probe every few seconds
      expect(logged).toHaveLength(1);
      now += NOT_READY_LOG_REPEAT_MS;
      await sut.check();
      expect(logged.map((l) => l.line)).toEqual([
        expect.objectContaining({ event: 's3_not_ready', reason: 'unreachable', detail: expect.stringContaining('ECONNREFUSED') }),
        expect.objectContaining({ event: 's3_not_ready', reason: 'unreachable', failedChecks: 10 }),
      ]);
      answer = () => Promise.reject(new StorageError('access_denied', 'S3 denied s3:GetObject and s3:ListBucket on bucket "bkt".'));
      await sut.check();
      await sut.check();
      answer = async () => 4;
      await sut.check();
      await sut.check();
      expect(logged.slice(2).map((l) => [l.level, l.line.event, l.line.reason ?? l.line.after])).toEqual([
        ['warn', 's3_not_ready', 'access_denied'],
        ['log', 's3_ready', 'access_denied'],
      ]);
    } finally {
      clock.mockRestore();
    }
  });

  it('is down, saying why, until S3 was seen to honour conditional writes; up once it was, and then never checks again', async () => {
    const check = conditionalWrites([
      () => Promise.reject(new StorageError('network', 'The check that S3 honours conditional writes could not finish: S3 is unreachable (ECONNRESET)')),
      () => Promise.resolve(),
    ]);
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(async () => 3), config, check as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toEqual({ s3: { status: 'down', latencyMs: expect.any(Number), reason: 'conditional_writes_unchecked' } });
    expect(logged[0].line).toMatchObject({ reason: 'conditional_writes_unchecked', detail: expect.stringMatching(/conditional writes could not finish: S3 is unreachable/) });
    expect(await sut.check()).toMatchObject({ s3: { status: 'up', latencyMs: 3 } });
    expect(await sut.check()).toMatchObject({ s3: { status: 'up' } });
    expect(check.runs).toBe(2);
  });

  it('says so when S3 was seen ignoring conditional writes', async () => {
    const check = conditionalWrites([() => Promise.reject(new StorageError('conditions_ignored', 'S3 ignores If-Match on bucket "bkt"'))]);
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(async () => 3), config, check as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toEqual({ s3: { status: 'down', latencyMs: expect.any(Number), reason: 'conditional_writes_ignored' } });
  });

  it('checks under way together share one probe, and only within the timeout: the next check after it sends a new one', async () => {
    let probes = 0;
    const hung = storage(() => {
      probes++;
      return probes === 1 ? new Promise<number>(() => undefined) : Promise.resolve(5); // the first never answers
    });
    const sut = new S3HealthIndicator(new HealthIndicatorService(), hung, config, honoured as unknown as ConditionalWritesCheck);
    const first = await Promise.all([sut.check(), sut.check(), sut.check()]);
    expect(first.map((r) => r.s3.status)).toEqual(['down', 'down', 'down']);
    expect(probes).toBe(1);
    expect(await sut.check()).toMatchObject({ s3: { status: 'up', latencyMs: 5 } }); // S3 answers again: up at once
    expect(probes).toBe(2);
  });
});
