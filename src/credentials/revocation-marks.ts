import { Injectable } from '@nestjs/common';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';

/** The durable "revocation started" mark, `{S3_SESSION_PREFIX}revoking/{email}.json`. */
export interface RevocationMark {
  version: 1;
  email: string;
  started_at: string;
  /** Fingerprint of the Google token the revocation is for: a later sign-in's new grant is not revoked by a resume. */
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

/** True when the mark is for the grant any of these tokens belongs to (a mark without a fingerprint: any grant). */
export function markCovers(mark: RevocationMark, tokens: readonly (string | undefined)[]): boolean {
  if (!mark.grant_sha256) return true;
  return tokens.some((t) => t !== undefined && grantFingerprint(t) === mark.grant_sha256);
}
