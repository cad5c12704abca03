import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { Metrics } from '../observability/metrics.js';
import type { StorageOperation } from './storage.errors.js';

export interface LatencySample {
  operation: StorageOperation;
  ms: number;
  outcome: 'ok' | string;
  at: number;
}

/** While S3 keeps failing the same way, its log line is repeated at most this often (every request may hit it). */
export const FAILURE_LOG_REPEAT_MS = 60_000;

/**
 * Records the latency and outcome of every S3 call (metrics); logs the slow ones, and the failures with their
 * guidance (event s3_call_failed): callers are only told that storage failed (StorageError), so this line is where
 * the operators read which bucket, which permission, what S3 said. Once per kind of failure, then at most every
 * FAILURE_LOG_REPEAT_MS with the count since, so an outage under load is a line a minute, not one per request.
 * A lost conditional write (conflict) is not a failure: the caller re-reads and retries.
 */
@Injectable()
export class StorageLatency {
  private readonly logger = new Logger('S3');
  private last?: LatencySample;
  private readonly failures = new Map<string, { at: number; since: number }>();
  private readonly warnMs: number;

  constructor(
    config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.warnMs = config.values.s3.latencyWarnMs;
  }

  /** Records one S3 call. `keyPrefix` is the first path segment only: keys hold emails, which stay out of logs. */
  record(operation: StorageOperation, ms: number, outcome: string, keyPrefix: string, detail?: string): void {
    this.last = { operation, ms, outcome, at: Date.now() };
    this.metrics.s3Duration.observe({ operation, outcome }, ms / 1000);
    if (outcome !== 'ok') this.metrics.s3Errors.inc({ code: outcome, operation });
    if (ms > this.warnMs) {
      this.logger.warn({ msg: 'slow S3 call', operation, keyPrefix, ms: Math.round(ms), thresholdMs: this.warnMs, outcome });
    }
    if (outcome !== 'ok' && outcome !== 'conflict') this.failed(operation, outcome, keyPrefix, detail);
  }

  private failed(operation: StorageOperation, code: string, keyPrefix: string, detail: string | undefined): void {
    const now = Date.now();
    const seen = this.failures.get(code);
    if (seen && now - seen.at < FAILURE_LOG_REPEAT_MS) {
      seen.since++;
      return;
    }
    // failuresSince: the calls that failed this way since the previous line, which were not logged one by one.
    this.logger.warn({ msg: 'S3 call failed', event: 's3_call_failed', code, operation, keyPrefix, detail, ...(seen ? { failuresSince: seen.since } : {}) });
    this.failures.set(code, { at: now, since: 0 });
  }

  /** The most recent S3 call, if any. */
  lastSample(): LatencySample | undefined {
    return this.last;
  }
}
