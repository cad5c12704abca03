import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';

/** Readiness of S3: the probe's round trip (a GET of a missing key) with a timeout; slow is reported, not failed. */
@Injectable()
export class S3HealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly objects: JsonObjectRepository,
    private readonly config: AppConfig,
  ) {}

  /** Checks S3 for the readiness probe. */
  async check(key = 's3') {
    const indicator = this.health.check(key);
    const { bucket, latencyWarnMs, timeoutMs } = this.config.values.s3;
    const started = performance.now();
    try {
      const latencyMs = Math.round(await withTimeout(this.objects.ping(), Math.min(timeoutMs, 3000)));
      return indicator.up({ latencyMs, bucket, slow: latencyMs > latencyWarnMs, thresholdMs: latencyWarnMs });
    } catch (err) {
      return indicator.down({ latencyMs: Math.round(performance.now() - started), bucket, message: (err as Error).message });
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`S3 did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
