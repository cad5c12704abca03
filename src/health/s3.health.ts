import { Injectable, Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config.js';
import { ConditionalWritesCheck } from '../storage/conditional-writes.check.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { operatorDetail } from '../storage/storage.errors.js';
import { ReadinessReason, readinessReason, ReadinessTimeout } from './readiness-reason.js';

/** While S3 stays down for the same reason, the log line is repeated at most this often (probes come every few seconds). */
export const NOT_READY_LOG_REPEAT_MS = 60_000;

/**
 * Readiness of S3: the probe's round trip (a GET of a missing key) with a timeout; slow is reported, not failed. Not
 * ready before S3 was seen to honour conditional writes: while that check has not passed (S3 was unreachable at
 * start-up, storage-boot-check.ts), readiness runs it, shared with one already under way; once passed, never again.
 *
 * The route is public: a failure is answered with a reason code only (readiness-reason.ts), and its detail (which
 * names the bucket, the permission, the endpoint's error) is logged, once per change of reason and then at most every
 * NOT_READY_LOG_REPEAT_MS, so a kubelet probing every few seconds does not fill the log.
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
  private readonly logger = new Logger('S3');
  /** What the log last said: 'up', or the reason readiness failed for; and when, and how many failed checks since. */
  private logged: { state: 'up' | ReadinessReason; at: number; failedSince: number } = { state: 'up', at: 0, failedSince: 0 };

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly objects: JsonObjectRepository,
    private readonly config: AppConfig,
    private readonly conditionalWrites: ConditionalWritesCheck,
  ) {}

  /** Checks S3 for the readiness probe. */
  async check(key = 's3') {
    const indicator = this.health.check(key);
    const { latencyWarnMs, timeoutMs } = this.config.values.s3;
    const started = performance.now();
    let stage: 'probe' | 'conditional_writes' = 'probe';
    try {
      const bound = Math.min(timeoutMs, 3000);
      const latencyMs = Math.round(await withTimeout(this.probe(bound), bound));
      stage = 'conditional_writes';
      if (!this.conditionalWrites.verified) await withTimeout(this.conditionalWrites.verify(), bound);
      this.noteUp();
      return indicator.up({ latencyMs, slow: latencyMs > latencyWarnMs, thresholdMs: latencyWarnMs });
    } catch (err) {
      const reason = readinessReason(err, stage);
      this.noteDown(reason, err);
      return indicator.down({ latencyMs: Math.round(performance.now() - started), reason });
    }
  }

  private noteDown(reason: ReadinessReason, err: unknown): void {
    const now = Date.now();
    const failedChecks = this.logged.failedSince + 1;
    if (this.logged.state === reason && now - this.logged.at < NOT_READY_LOG_REPEAT_MS) {
      this.logged.failedSince = failedChecks;
      return;
    }
    const repeated = this.logged.state === reason;
    this.logger.warn({ msg: 'not ready: S3 check failed', event: 's3_not_ready', reason, detail: operatorDetail(err), ...(repeated ? { failedChecks } : {}) });
    this.logged = { state: reason, at: now, failedSince: 0 };
  }

  private noteUp(): void {
    if (this.logged.state === 'up') return;
    this.logger.log({ msg: 'ready again: S3 check passed', event: 's3_ready', after: this.logged.state });
    this.logged = { state: 'up', at: Date.now(), failedSince: 0 };
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
    timer = setTimeout(() => reject(new ReadinessTimeout(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
