import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { JsonObjectRepository } from './json-object.repository.js';
import { CONDITIONAL_CHECK_PREFIX } from './probe-key.js';
import { operatorDetail, StorageError } from './storage.errors.js';

/** A well-formed ETag that no object of the check has (not the MD5 of any JSON it writes). */
const NOT_ITS_ETAG = '"00000000000000000000000000000000"';

/** Where an operator reads which S3 implementations honour conditional writes. */
export const CONDITIONAL_WRITES_SECTION = 'README, section "S3 that honours conditional writes"';

/**
 * Whether S3 honours the conditional writes that every "used once" and "never lost" guarantee rests on:
 * `If-None-Match: *` (authorization codes and one-time markers claimed once, refresh-token families rotated once)
 * and `If-Match` (credentials merged on write). S3-compatible stores exist that accept both headers and ignore them
 * (SeaweedFS before 3.96, some gateways): there the service would look healthy while two racers both win every
 * claim, a replayed code issuing tokens twice, a refresh write overwriting a newer grant.
 *
 * Four requests, through the repository's own create/put/delete (the code path those guarantees take), on a fresh
 * key (replicas boot at once): create (must succeed), create again (must be refused), write on an ETag the object
 * does not have (must be refused), delete (a failure only warns: the object is small and harmless). Conditional
 * deletes are not checked: Ceph RGW 16 ignores If-Match on DeleteObject, and the callers that rely on it re-read and
 * compare first (JsonObjectRepository.delete).
 *
 * A pass is remembered for the life of the process, and so is a store seen ignoring a condition (restart once S3 is
 * fixed); any other failure (S3 unreachable, a denial) is not, and the next verify() checks again.
 */
@Injectable()
export class ConditionalWritesCheck {
  private readonly logger = new Logger('S3');
  private passed = false;
  private ignored?: StorageError;
  private running?: Promise<void>;

  constructor(private readonly objects: JsonObjectRepository) {}

  /** True once S3 was seen to honour both conditions. */
  get verified(): boolean {
    return this.passed;
  }

  /** Resolves once S3 was seen to honour both conditions; rejects with a StorageError saying why not. Callers at the same time share one check. */
  verify(): Promise<void> {
    if (this.passed) return Promise.resolve();
    if (this.ignored) return Promise.reject(this.ignored);
    this.running ??= this.run().then(
      () => {
        this.passed = true;
        this.running = undefined;
      },
      (err: unknown) => {
        this.running = undefined;
        const failure = this.explain(err);
        if (failure.code === 'conditions_ignored') this.ignored = failure;
        throw failure;
      },
    );
    return this.running;
  }

  private async run(): Promise<void> {
    const key = `${CONDITIONAL_CHECK_PREFIX}${randomUUID()}.json`;
    await this.objects.create(key, { purpose: 'the check that S3 honours conditional writes; safe to delete', step: 'created' });
    try {
      if (!(await refused(this.objects.put(key, { step: 'created again' }, { ifNoneMatch: '*' })))) {
        throw this.conditionIgnored('If-None-Match: *', 'a create-only PUT of an object that exists replaced it instead of being refused with 412');
      }
      if (!(await refused(this.objects.put(key, { step: 'written on a wrong ETag' }, { ifMatch: NOT_ITS_ETAG })))) {
        throw this.conditionIgnored('If-Match', 'a PUT with If-Match on an ETag the object does not have replaced it instead of being refused with 412');
      }
    } finally {
      await this.objects.delete(key).catch((err: unknown) =>
        this.logger.warn({ msg: 'could not delete the object of the conditional-write check; it is harmless, delete it when S3 answers', key, detail: operatorDetail(err) }),
      );
    }
  }

  private conditionIgnored(condition: string, what: string): StorageError {
    return new StorageError(
      'conditions_ignored',
      `S3 ignores ${condition} on bucket "${this.objects.bucketName}": ${what}. The service relies on conditional writes (authorization codes used ` +
        `once, refresh tokens never lost to a racing write) and does not run on an S3 without them. Upgrade the store or move to one that ` +
        `honours If-None-Match and If-Match on PutObject (AWS S3, Ceph RGW, SeaweedFS 3.96 or later): see ${CONDITIONAL_WRITES_SECTION}.`,
    );
  }

  /** The failure as the operator reads it: what could not be checked, and why. */
  private explain(err: unknown): StorageError {
    if (err instanceof StorageError && err.code === 'conditions_ignored') return err;
    const cause = err instanceof StorageError ? err : new StorageError('unknown', `S3 failed (${operatorDetail(err) || 'unknown error'}).`);
    const scope = cause.code === 'access_denied' ? ` A policy scoped to key prefixes must allow s3:PutObject and s3:DeleteObject on "${CONDITIONAL_CHECK_PREFIX}*".` : '';
    return new StorageError(cause.code, `The check that S3 honours conditional writes (needed before this replica takes traffic) could not finish: ${cause.detail}${scope}`);
  }
}

/** True when S3 refused the write as a lost condition (412, or 409 ConditionalRequestConflict); false when it applied it. */
async function refused(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return false;
  } catch (err) {
    if (err instanceof StorageError && err.code === 'conflict') return true;
    throw err;
  }
}
