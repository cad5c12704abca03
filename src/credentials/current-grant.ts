import { Injectable } from '@nestjs/common';
import { CredentialsRepository } from './credentials.repository.js';
import type { GoogleCredentials } from './google-credentials.js';
import { RefreshWriteBack } from './refresh-write-back.js';

/** The grant a refresh works from. */
export interface Grant {
  credentials: GoogleCredentials;
  /** Refresh tokens this grant continues: a write of its successor may replace any of them in S3. */
  continues: string[];
}

/**
 * A user's grant as this replica knows it now: what S3 holds, unless this replica refreshed it and S3 did not take
 * the write yet (RefreshWriteBack), in which case S3 is behind and the unwritten refresh is the grant.
 */
@Injectable()
export class CurrentGrant {
  constructor(
    private readonly repository: CredentialsRepository,
    private readonly writeBack: RefreshWriteBack,
  ) {}

  /**
   * What to refresh from: this replica's unwritten refresh while it continues what S3 holds, else what S3 holds.
   * Refresh tokens Google refused in this flight (`refused`) are skipped in favour of the other.
   */
  async read(email: string, refused: ReadonlySet<string>): Promise<Grant | undefined> {
    const stored = await this.repository.findByEmail(email);
    const unwritten = this.writeBack.get(email);
    if (unwritten) {
      const mine = unwritten.credentials.refreshToken;
      const storedRt = stored?.refreshToken;
      if (storedRt && storedRt === mine) {
        this.writeBack.cancel(email); // it landed (an answer lost after S3 applied the write, or another path)
      } else if (storedRt && !unwritten.continues.includes(storedRt)) {
        this.writeBack.cancel(email); // a newer sign-in replaced the grant
      } else if (!(mine && refused.has(mine))) {
        return { credentials: unwritten.credentials, continues: unwritten.continues };
      }
    }
    return stored ? { credentials: stored, continues: [] } : undefined;
  }
}
