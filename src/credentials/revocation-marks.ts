import { Injectable } from '@nestjs/common';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';

/** The durable "revocation started" mark, `{S3_SESSION_PREFIX}revoking/{email}.json`. */
export interface RevocationMark {
  version: 1;
  email: string;
  started_at: string;
  /**
   * Fingerprint of the Google token the revocation is for: a later sign-in's new grant is not revoked by a resume.
   * Absent when S3 held no grant of the user (see markCovers).
   */
  grant_sha256?: string;
}

/** The fingerprint a mark records for a grant's refresh (or access) token. */
export function grantFingerprint(token: string): string {
  return sha256Url(token);
}

/**
 * The revocation marks in S3. Auth's Revocation writes and clears them; a refresh that rotated a grant reads them
 * after writing the successor (see RefreshedGrantWriter), which is why they live below auth, in credentials.
 */
@Injectable()
export class RevocationMarks {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.s3.sessionPrefix}revoking/`;
  }

  /** The user's mark, or undefined (also for an object that is not a well-formed mark). */
  async find(email: string): Promise<RevocationMark | undefined> {
    const stored = await this.objects.get(this.keyFor(email));
    const mark = stored?.value as Partial<RevocationMark> | undefined;
    if (!mark || mark.email !== email || typeof mark.started_at !== 'string' || Number.isNaN(Date.parse(mark.started_at))) return undefined;
    return mark as RevocationMark;
  }

  /** Stores a mark (durable once this resolves). */
  async put(mark: RevocationMark): Promise<void> {
    await this.objects.put(this.keyFor(mark.email), mark);
  }

  /** Removes the user's mark; already gone is fine. */
  async clear(email: string): Promise<void> {
    await this.objects.delete(this.keyFor(email));
  }

  private keyFor(email: string): string {
    return `${this.prefix}${email}.json`;
  }
}

/** A grant as a revocation mark is checked against. */
export interface MarkedGrant {
  /** Its tokens (refresh tokens it continues, its own): any one matching the mark's fingerprint makes it the grant. */
  tokens: readonly (string | undefined)[];
  /** When S3 last stored it (ms since the epoch), if known: it existed by then. */
  storedAt?: number;
}

/**
 * True when the mark is for this grant. A mark with a fingerprint names its grant. One without was written when S3
 * held no grant of the user, and may stay for hours when the revocation is left unfinished: it covers only a grant
 * stored before the revocation started (a replica's unwritten refresh of a grant S3 no longer held), never one stored
 * later, which a sign-in after the revocation began gave and which must survive it.
 */
export function markCovers(mark: RevocationMark, grant: MarkedGrant): boolean {
  if (mark.grant_sha256) return grant.tokens.some((t) => t !== undefined && grantFingerprint(t) === mark.grant_sha256);
  return grant.storedAt !== undefined && grant.storedAt < Date.parse(mark.started_at);
}
