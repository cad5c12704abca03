import { HealthIndicatorService } from '@nestjs/terminus';
import type { AppConfig } from '../config/app-config.js';
import { parseConfig } from '../config/config.schema.js';
import type { ConditionalWritesCheck } from '../storage/conditional-writes.check.js';
import type { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { S3HealthIndicator } from './s3.health.js';

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

describe('S3HealthIndicator', () => {
  it('reports a fast S3 as up, not slow, with its latency and bucket', async () => {
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(async () => 3), config, honoured as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toEqual({ s3: { status: 'up', latencyMs: 3, bucket: 'bkt', slow: false, thresholdMs: 20 } });
  });

  it('reports S3 slower than S3_LATENCY_WARN_MS as up and slow (reported, not failed)', async () => {
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(after(40)), config, honoured as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toMatchObject({ s3: { status: 'up', slow: true, latencyMs: 40 } });
  });

  it('reports an S3 error as down with its guidance', async () => {
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(() => Promise.reject(new StorageError('bucket_missing', 'S3 bucket "bkt" does not exist.'))), config, honoured as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toMatchObject({ s3: { status: 'down', bucket: 'bkt', message: 'S3 bucket "bkt" does not exist.' } });
  });

  it('reports an S3 that does not answer within the timeout as down', async () => {
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(after(1000)), config, honoured as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toMatchObject({ s3: { status: 'down', message: expect.stringContaining('200 ms') } });
  });

  it('is down, saying why, until S3 was seen to honour conditional writes; up once it was, and then never checks again', async () => {
    const check = conditionalWrites([
      () => Promise.reject(new StorageError('network', 'The check that S3 honours conditional writes could not finish: S3 is unreachable (ECONNRESET)')),
      () => Promise.resolve(),
    ]);
    const sut = new S3HealthIndicator(new HealthIndicatorService(), storage(async () => 3), config, check as unknown as ConditionalWritesCheck);
    expect(await sut.check()).toMatchObject({ s3: { status: 'down', message: expect.stringMatching(/conditional writes could not finish: S3 is unreachable/) } });
    expect(await sut.check()).toMatchObject({ s3: { status: 'up', latencyMs: 3 } });
    expect(await sut.check()).toMatchObject({ s3: { status: 'up' } });
    expect(check.runs).toBe(2);
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
