import { Injectable } from '@nestjs/common';
import { settleWithin } from '../common/settle-within.js';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';

/** How long a failed use waits for its claim to be given back before its error is answered (giveBack). */
const RELEASE_WAIT_MS = 500;

/**
 * Values that may be used once across all replicas (sign-in `state`, authorization codes). A create-only S3 put
 * decides who was first. Objects live under `{S3_SESSION_PREFIX}used/`; an S3 lifecycle rule on that prefix (1 day)
 * cleans them.
 */
@Injectable()
export class OneTimeMarkers {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.s3.sessionPrefix}used/`;
  }

  /**
   * True the first time a value is claimed, false on every later claim (a replay). With a `claimant` (a secret only
   * the legitimate holder knows), a repeated claim by the same claimant is also true: when S3 applied the first
   * create but its answer was lost, the SDK's retry (or the person's reload) meets the marker it wrote itself and
   * must not be told "already used".
   */
  async claim(kind: string, value: string, claimant?: string): Promise<boolean> {
    const key = this.key(kind, value);
    const claimedBy = claimant === undefined ? undefined : claimDigest(claimant);
    try {
      await this.objects.put(key, claimDocument(kind, claimedBy), { ifNoneMatch: '*' });
      return true;
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'conflict')) throw err;
    }
    if (claimedBy === undefined) return false;
    const existing = (await this.objects.get(key))?.value as { claimed_by?: unknown; completed?: unknown } | undefined;
    return existing?.claimed_by === claimedBy && existing.completed !== true;
  }

  /** Records that the claimant finished with the value: from now on every claim, its own included, is a replay. */
  async complete(kind: string, value: string): Promise<void> {
    await this.objects.put(this.key(kind, value), { kind, used_at: new Date().toISOString(), completed: true });
  }

  /**
   * Undoes complete() for the claimant: its own retry is let through again. For a flow marked spent while its last
   * writes ran, when those writes failed.
   */
  async reopen(kind: string, value: string, claimant: string): Promise<void> {
    await this.objects.put(this.key(kind, value), claimDocument(kind, claimDigest(claimant)));
  }

  /**
   * Gives a claim back, so the value may be claimed once more: for a use that failed before it produced anything
   * (S3 refused a later write), whose caller is told to retry. Only the claimant's own, uncompleted claim is removed
   * (If-Match on the version read); anything else is left as it is.
   */
  async release(kind: string, value: string, claimant: string): Promise<void> {
    const key = this.key(kind, value);
    const stored = await this.objects.get(key);
    const marker = stored?.value as { claimed_by?: unknown; completed?: unknown } | undefined;
    if (!stored || marker?.claimed_by !== claimDigest(claimant) || marker.completed === true) return;
    await this.objects.delete(key, { ifMatch: stored.etag });
  }

  /**
   * release() after a use that failed on S3, waited for at most RELEASE_WAIT_MS: S3 has just failed, and another full
   * S3_TIMEOUT_MS would double the wait for the error. Never throws (`onFailure` hears why); a release still under way
   * goes on and helps a later retry.
   */
  async giveBack(kind: string, value: string, claimant: string, onFailure: (err: unknown) => void = () => undefined): Promise<void> {
    await settleWithin(this.release(kind, value, claimant).catch(onFailure), RELEASE_WAIT_MS);
  }

  private key(kind: string, value: string): string {
    return `${this.prefix}${sha256Url(`${kind}\0${value}`)}.json`;
  }
}

/** A claim as stored: who holds it (a digest of the claimant's secret), not yet completed. */
function claimDocument(kind: string, claimedBy: string | undefined) {
  return { kind, used_at: new Date().toISOString(), claimed_by: claimedBy };
}

function claimDigest(claimant: string): string {
  return sha256Url(`claimant\0${claimant}`);
}
