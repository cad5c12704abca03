import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config.js';
import { ConditionalWritesCheck } from '../storage/conditional-writes.check.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';

/**
 * Readiness of S3: the probe's round trip (a GET of a missing key) with a timeout; slow is reported, not failed. Not
 * ready before S3 was seen to honour conditional writes: while that check has not passed (S3 was unreachable at
 * start-up, storage-boot-check.ts), readiness runs it, shared with one already under way; once passed, never again.
 */
@Injectable()
export class S3HealthIndicator {
  /**
   * The probe under way: readiness checks that arrive meanwhile share it. The route is public, and one S3 GET per
   * request let a flood of them fill the S3 client's socket pool, so users' S3 calls queued past S3_TIMEOUT_MS (503)
   * and the probes themselves timed out (not ready), whatever S3 did. A probe is shared only within readiness' own
   * bound: after it, the next check sends a fresh one, so readiness is back at the first check after S3 answers.
   */
  private probing?: Promise<number>;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly objects: JsonObjectRepository,
    private readonly config: AppConfig,
    private readonly conditionalWrites: ConditionalWritesCheck,
  ) {}

  /** Checks S3 for the readiness probe. */
  async check(key = 's3') {
    const indicator = this.health.check(key);
    const { bucket, latencyWarnMs, timeoutMs } = this.config.values.s3;
    const started = performance.now();
    try {
      const bound = Math.min(timeoutMs, 3000);
      const latencyMs = Math.round(await withTimeout(this.probe(bound), bound));
      if (!this.conditionalWrites.verified) await withTimeout(this.conditionalWrites.verify(), bound);
      return indicator.up({ latencyMs, bucket, slow: latencyMs > latencyWarnMs, thresholdMs: latencyWarnMs });
    } catch (err) {
      return indicator.down({ latencyMs: Math.round(performance.now() - started), bucket, message: (err as Error).message });
    }
  }

  /** The probe under way, or a new one, shared for at most `shareMs`. */
  private probe(shareMs: number): Promise<number> {
    if (this.probing) return this.probing;
    const probe = this.objects.ping();
    const forget = () => {
      clearTimeout(timer);
      if (this.probing === probe) this.probing = undefined;
    };
    const timer = setTimeout(forget, shareMs);
    this.probing = probe;
    probe.then(forget, forget);
    return probe;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`S3 did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
