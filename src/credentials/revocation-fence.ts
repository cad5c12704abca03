import { Injectable, Logger } from '@nestjs/common';
import { CredentialsRepository } from './credentials.repository.js';
import { GoogleTokenClient } from './google-token.client.js';
import { markCovers, RevocationMarks } from './revocation-marks.js';
import { RevocationWatermarks } from './revocation-watermarks.js';
import { operatorDetail } from '../storage/storage.errors.js';

/**
 * A refresh that re-created deleted credentials counts a revocation this long before it started as the deleter: the
 * refresh can start while the revocation runs (its replica trusts its session copy for SESSION_CACHE_TTL_MS).
 */
const REVOKED_BEFORE_REFRESH_MS = 60_000;

/** A rotated refresh token just written to S3, and what it came from. */
export interface WrittenSuccessor {
  email: string;
  successor: string;
  /** The refresh tokens it continues. */
  continues: readonly string[];
  /** The write created the object again: something deleted it while the refresh ran. */
  recreated: boolean;
  /** When the refresh started (ms since the epoch). */
  refreshStartedAt: number;
  /** When S3 last stored the grant the refresh worked from (its `updated_at`), if known. */
  grantStoredAt?: number;
}

/**
 * Keeps a refresh on one replica from undoing a revocation on another. With rotation, a refresh that Google answered
 * just before the revocation reached it holds the grant's only live refresh token (Google then tells the
 * revocation it does not know the old one). The revocation writes its mark before asking Google and reads S3 again
 * when Google says "unknown"; the refresh, once its successor is in S3, reads the mark. Whichever comes second sees
 * the other's write (S3 is strongly consistent), so one of the two revokes the successor. A successor whose write
 * lands after the whole revocation finished and cleared its mark re-creates the deleted object; the user's revocation
 * time (RevocationWatermarks, written before the delete and kept) tells it so.
 */
@Injectable()
export class RevocationFence {
  private readonly logger = new Logger('Credentials');

  constructor(
    private readonly marks: RevocationMarks,
    private readonly watermarks: RevocationWatermarks,
    private readonly google: GoogleTokenClient,
    private readonly repository: CredentialsRepository,
  ) {}

  /**
   * Called once a rotated refresh token is in S3. When a revocation of its grant has started (or, for a write that
   * re-created the object, a revocation deleted it), revokes the successor at Google, deletes it from S3 once Google confirmed, and returns true:
   * the refresh must not be used.
   */
  async revokedMeanwhile({ email, successor, continues, recreated, refreshStartedAt, grantStoredAt }: WrittenSuccessor): Promise<boolean> {
    let revoked: boolean;
    try {
      const mark = await this.marks.find(email);
      revoked = mark !== undefined && markCovers(mark, { tokens: [...continues, successor], storedAt: grantStoredAt });
      if (!revoked && recreated) revoked = await this.watermarks.revokedSince(email, refreshStartedAt - REVOKED_BEFORE_REFRESH_MS);
    } catch (err) {
      // S3 answered the write a moment ago; without the mark's answer the revocation's own re-read is relied on.
      this.logger.warn({ msg: 'could not read the revocation mark after writing a rotated token', event: 'revocation_fence', outcome: 'unread', user: email, reason: operatorDetail(err) });
      return false;
    }
    if (!revoked) return false;
    const answer = await this.google.revoke(successor);
    if (answer === 'unconfirmed') {
      // Kept in S3: only a confirmed revocation deletes credentials. A revoke request of the user finishes it.
      this.logger.error({ msg: 'a revocation started while this grant rotated; Google did not confirm revoking the successor, which stays in S3', event: 'revocation_fence', outcome: 'unconfirmed', user: email });
    } else {
      // Dead at Google now, so a failed delete loses nothing: the next refresh hears invalid_grant and deletes it.
      const deleted = await this.repository.deleteIfRefreshTokenIs(email, successor).then(() => true, () => false);
      this.logger.log({ msg: 'a revocation started while this grant rotated; the successor was revoked at Google', event: 'revocation_fence', outcome: 'revoked', deleted, user: email });
    }
    return true;
  }
}
