import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConditionalWritesCheck } from './conditional-writes.check.js';
import { JsonObjectRepository } from './json-object.repository.js';
import { StorageError, type StorageErrorCode } from './storage.errors.js';

/** How often a replica that could not reach S3 at start-up tries the conditional-write check again. */
const RETRY_MS = 5000;

/** The boot stopped on S3: its message is the operator's guidance (StorageError.detail), for the fatal line. */
export class StorageBootError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    detail: string,
  ) {
    super(detail);
    this.name = 'StorageBootError';
  }
}

/**
 * At start-up, checks the bucket once, then that S3 honours conditional writes (ConditionalWritesCheck). A missing
 * bucket, refused credentials or an S3 that ignores a condition stop the boot with the guidance: the replica never
 * serves.
 *
 * S3 unreachable at start-up (a timeout, a network error) only warns, as before: a pod restarting in a loop comes up
 * no sooner than one that waits. But the replica is not ready until the conditional-write check has passed once:
 * readiness runs the check itself while it has not passed (S3HealthIndicator), so the replica becomes ready at the
 * first probe after S3 answers and honours the conditions; and this retries it every 5 s, so that a replica nobody
 * probes checks too and says so in its log. A store found ignoring a condition then keeps the replica not ready for
 * good (one error line, and readiness names it); the process stays up, since exiting would restart it into the same
 * state, and an operator restarts it once S3 is fixed.
 */
@Injectable()
export class StorageBootCheck implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('S3');
  private retry?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly objects: JsonObjectRepository,
    private readonly conditionalWrites: ConditionalWritesCheck,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.objects.ping();
      await this.conditionalWrites.verify();
    } catch (err) {
      if (err instanceof StorageError && !err.isOutage) throw new StorageBootError(err.code, err.detail);
      if (!(err instanceof StorageError)) throw err;
      this.logger.warn({ msg: 'S3 not reachable at start-up; readiness stays down until it is and S3 was seen to honour conditional writes', detail: err.detail });
      this.retryLater();
    }
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }

  private retryLater(): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.conditionalWrites.verify().then(
        () => this.logger.log({ msg: 'S3 honours conditional writes: the check that S3 was unreachable for at start-up has passed' }),
        (err: StorageError) => {
          if (err.code !== 'conditions_ignored') return this.retryLater();
          this.logger.error({ msg: 'S3 ignores conditional writes: this replica stays not ready', event: 'conditional_writes_ignored', detail: err.detail });
        },
      );
    }, RETRY_MS);
    this.retry.unref();
  }
}
