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

/** Records the latency and outcome of every S3 call (metrics); logs the slow ones. */
@Injectable()
export class StorageLatency {
  private readonly logger = new Logger('S3');
  private last?: LatencySample;
  private readonly warnMs: number;

  constructor(
    config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.warnMs = config.values.s3.latencyWarnMs;
  }

  /** Records one S3 call. `keyPrefix` is the first path segment only: keys hold emails, which stay out of logs. */
  record(operation: StorageOperation, ms: number, outcome: string, keyPrefix: string): void {
    this.last = { operation, ms, outcome, at: Date.now() };
    this.metrics.s3Duration.observe({ operation, outcome }, ms / 1000);
    if (outcome !== 'ok') this.metrics.s3Errors.inc({ code: outcome, operation });
    if (ms > this.warnMs) {
      this.logger.warn({ msg: 'slow S3 call', operation, keyPrefix, ms: Math.round(ms), thresholdMs: this.warnMs, outcome });
    }
  }

  /** The most recent S3 call, if any. */
  lastSample(): LatencySample | undefined {
    return this.last;
  }
}
