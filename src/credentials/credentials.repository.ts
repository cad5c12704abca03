import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { normalizeEmail } from '../common/email.js';
import { JsonObjectRepository, StoredJson } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { CredentialsPatch, fromDocument, GoogleCredentials, mergeCredentials, toDocument } from './google-credentials.js';
import { mergeRefresh } from './refresh-merge.js';

/**
 * Each lost If-Match round means another writer's update landed, so a round always makes progress; a writer can
 * still lose several rounds in a row when many replicas write one user's object at once. Enough attempts for a
 * dozen concurrent writers, with exponential, jittered backoff so they spread out instead of colliding again.
 */
const MAX_WRITE_ATTEMPTS = 16;

/** What writing a refreshed token did. */
export type RefreshWrite =
  /**
   * `recreated`: nothing was stored at some read of this write (RefreshWriteOptions.missing), and the object now holds
   * it, created again from `recreateFrom` (by this write, or by an earlier attempt whose answer was lost).
   */
  | { outcome: 'written'; credentials: GoogleCredentials; recreated: boolean }
  /** S3 holds another grant (a new sign-in) or none: nothing was written. */
  | { outcome: 'superseded'; stored?: GoogleCredentials };

/** What a delete conditioned on a refused refresh token did. */
export type DeadGrantDelete =
  | { outcome: 'deleted' }
  /** Nothing was stored any more. */
  | { outcome: 'gone' }
  /** S3 holds another refresh token now: nothing was deleted. */
  | { outcome: 'changed'; stored: GoogleCredentials };

/** How a refreshed token is written (CredentialsRepository.saveRefreshed). */
export interface RefreshWriteOptions {
  /** When nothing is stored, the object is created again from these (a grant Google just honoured). */
  recreateFrom?: GoogleCredentials;
  /** The access token the refresh replaced: another one stored meanwhile may be a newer grant's (mergeRefresh). */
  replacing?: string;
  /**
   * Shared by every attempt to write one refresh (a failed one and its retries in RefreshWriteBack): set once any
   * read found no object. A create whose answer was lost leaves the next read finding the successor it wrote, and
   * that update is still the write that brought a deleted object back (`recreated`).
   */
  missing?: { seen: boolean };
}

/** Stored credentials and the ETag of the version they were read from. */
export interface VersionedCredentials {
  credentials: GoogleCredentials;
  etag: string;
}

/** Users' Google credentials in S3, one `{S3_PREFIX}{email}.json` each. */
@Injectable()
export class CredentialsRepository {
  private readonly prefix: string;
  private readonly logger = new Logger('Credentials');

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = config.values.s3.credentialsPrefix;
  }

  /** The stored credentials of a user, or undefined. */
  async findByEmail(email: string): Promise<GoogleCredentials | undefined> {
    const stored = await this.objects.get(this.keyFor(email));
    return stored ? fromDocument(email, stored.value) : undefined;
  }

  /**
   * Merges `patch` into what is stored and writes it atomically: If-None-Match on create, If-Match on the ETag
   * read for updates. When another writer wins (412), re-reads, merges again and retries.
   *
   * Every write is conditional, also a sign-in's that brought every field (a new refresh token among them), though
   * the merge then takes nothing from what is stored. The condition is not there for the merge but for the write
   * that lands late: a PUT the service gave up on (S3_TIMEOUT_MS, the callback answered 503) can still be applied
   * by S3 afterwards. Unconditional, it replaced whatever was written in between (a newer sign-in's refresh token,
   * an incremental consent's scopes) with the older grant, or re-created credentials a revocation had just
   * deleted. On the ETag read (or create-only), S3 refuses it (412) once anything changed. While the call is still
   * ours, a 412 re-reads and merges again, and the patch's fields win that merge: a sign-in supersedes what is
   * stored, as it should.
   */
  async save(email: string, patch: CredentialsPatch): Promise<GoogleCredentials> {
    // An object that is not JSON (truncated, hand-edited) holds nothing the merge could use: a sign-in replaces it,
    // on its ETag, as the unconditional write that preceded bc2c507 did. Refusing it (invalid_data, 503) failed
    // every sign-in of that user and threw away each new refresh token Google issued, until an operator repaired
    // the object (test/e2e/sign-in-unreadable-credentials.e2e.spec.ts). Refreshes and deletes still refuse it.
    const written = await this.mergeAndWrite(email, (current) => mergeCredentials(current, email, patch), true);
    return written as GoogleCredentials;
  }

  /**
   * Writes what a refresh brought, merged field by field, but only while S3 still holds the grant it continues:
   * a stored refresh token among `continues` (the one refreshed, and any unwritten ancestors), the new one, or none.
   * Another refresh token there means a newer sign-in wrote in between, and it is kept. `patch.refreshToken` is the
   * one to store (rotated or not): S3 may hold a dead ancestor of it, or nothing. An unexpired access token with
   * more scopes that a sign-in stored meanwhile stays (mergeRefresh). When nothing is stored, the object is created
   * from `recreateFrom` if given (a grant Google just honoured is never thrown away), else nothing is written.
   */
  async saveRefreshed(email: string, patch: CredentialsPatch, continues: readonly string[], { recreateFrom, replacing, missing: seen = { seen: false } }: RefreshWriteOptions = {}): Promise<RefreshWrite> {
    let superseded: GoogleCredentials | undefined;
    let gone = false;
    const written = await this.mergeAndWrite(email, (current) => {
      if (!current) seen.seen = true;
      const rt = current?.refreshToken;
      // Only another refresh token is another grant. An object without one (hand-edited, or written by another
      // tool) holds nothing a refresh could use: skipping the write would leave the live token in memory only.
      if (rt && rt !== patch.refreshToken && !continues.includes(rt)) {
        superseded = current;
        return undefined;
      }
      if (!current && !recreateFrom) {
        gone = true;
        return undefined;
      }
      return current ? mergeRefresh(current, email, patch, replacing) : mergeCredentials(recreateFrom, email, patch);
    });
    if (written) return { outcome: 'written', credentials: written, recreated: seen.seen };
    return gone ? { outcome: 'superseded' } : { outcome: 'superseded', stored: superseded };
  }

  /**
   * Deletes a user's credentials after Google refused `refused`, only if S3 still holds that refresh token: the
   * object is re-read and compared immediately before, and deleted with If-Match on the ETag read, so a newer
   * version (another replica's rotated token, a new sign-in) written in between is never deleted. On S3
   * implementations that ignore If-Match on delete, a write landing between that read and the delete (one S3
   * round trip) would still be deleted.
   */
  async deleteIfRefreshTokenIs(email: string, refused: string): Promise<DeadGrantDelete> {
    const key = this.keyFor(email);
    for (let attempt = 1; ; attempt++) {
      const stored = await this.objects.get(key);
      if (!stored) return { outcome: 'gone' };
      const current = fromDocument(email, stored.value);
      if (current?.refreshToken && current.refreshToken !== refused) return { outcome: 'changed', stored: current };
      try {
        await this.objects.delete(key, { ifMatch: stored.etag });
        return { outcome: 'deleted' };
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_WRITE_ATTEMPTS) throw err;
      }
    }
  }

  /** The stored credentials of a user with the ETag of the version read, or undefined. */
  async findVersioned(email: string): Promise<VersionedCredentials | undefined> {
    const stored = await this.objects.get(this.keyFor(email));
    const credentials = stored ? fromDocument(email, stored.value) : undefined;
    return credentials && stored ? { credentials, etag: stored.etag } : undefined;
  }

  /** Deletes a user's credentials whatever they hold (revocation); already gone is fine. */
  async delete(email: string): Promise<void> {
    await this.objects.delete(this.keyFor(email));
  }

  /**
   * Deletes the version read (revocation), If-Match on its ETag. When a newer version was written since, it is
   * re-read and deleted too only while `same` says it still holds the grant being revoked (a refresh of it wrote
   * a new access token); another grant is kept and returned with its version (the caller decides whether it is a
   * sign-in that landed meanwhile or the successor of the grant revoked). Already gone is fine (undefined). On S3
   * implementations that ignore If-Match on delete, this is an unconditional delete.
   */
  async deleteVersion(email: string, etag: string, same: (current: GoogleCredentials) => boolean): Promise<VersionedCredentials | undefined> {
    const key = this.keyFor(email);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.objects.delete(key, { ifMatch: etag });
        return undefined;
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_WRITE_ATTEMPTS) throw err;
      }
      const stored = await this.objects.get(key);
      const current = stored ? fromDocument(email, stored.value) : undefined;
      if (!stored) return undefined;
      if (current && !same(current)) return { credentials: current, etag: stored.etag };
      etag = stored.etag;
    }
  }

  /**
   * The If-Match loop: reads, lets `next` decide what to write (undefined: write nothing), writes on the ETag read
   * (or create-only), and on 412 starts over from a fresh read.
   */
  private async mergeAndWrite(email: string, next: (current: GoogleCredentials | undefined) => GoogleCredentials | undefined, replaceUnreadable = false): Promise<GoogleCredentials | undefined> {
    const key = this.keyFor(email);
    for (let attempt = 1; ; attempt++) {
      const stored: (StoredJson & { unreadable?: true }) | undefined = replaceUnreadable ? await this.objects.getForReplace(key) : await this.objects.get(key);
      if (stored?.unreadable) this.logger.warn({ msg: 'Stored credentials are not valid JSON: replaced by the sign-in\'s grant', event: 'credentials_unreadable', user: email });
      const merged = next(stored && !stored.unreadable ? fromDocument(email, stored.value) : undefined);
      if (!merged) return undefined;
      try {
        await this.objects.put(key, toDocument(merged), stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' });
        return merged;
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_WRITE_ATTEMPTS) throw err;
        await jitter(attempt);
      }
    }
  }

  private keyFor(email: string): string {
    // Second line of defence: callers normalise already, but nothing unvalidated ever becomes a key.
    const safe = normalizeEmail(email);
    if (!safe || safe !== email) throw new Error('refusing to build an S3 key from an unvalidated email');
    return `${this.prefix}${safe}.json`;
  }
}

function isConflict(err: unknown): boolean {
  return err instanceof StorageError && err.code === 'conflict';
}

function jitter(attempt: number): Promise<void> {
  // Full jitter (AWS architecture blog's "exponential backoff and jitter"): 0..min(500, 10 * 2^attempt) ms.
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(500, 10 * 2 ** attempt)));
}
