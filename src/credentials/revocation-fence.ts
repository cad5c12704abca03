import { Injectable, Logger } from '@nestjs/common';
import { CredentialsRepository } from './credentials.repository.js';
import { GoogleTokenClient } from './google-token.client.js';
import { markCovers, RevocationMarks } from './revocation-marks.js';

/**
 * Keeps a refresh on one replica from undoing a revocation on another. With rotation, a refresh that Google answered
 * just before the revocation reached it holds the grant's only live refresh token (Google then tells the
 * revocation it does not know the old one). The revocation writes its mark before asking Google and reads S3 again
 * when Google says "unknown"; the refresh, once its successor is in S3, reads the mark. Whichever comes second sees
 * the other's write (S3 is strongly consistent), so one of the two revokes the successor. The case neither sees:
 * a successor whose S3 write lands after the whole revocation has finished and cleared its mark (README, Failure model).
 */
@Injectable()
export class RevocationFence {
  private readonly logger = new Logger('Credentials');

  constructor(
    private readonly marks: RevocationMarks,
    private readonly google: GoogleTokenClient,
    private readonly repository: CredentialsRepository,
  ) {}

  /**
   * Called once `successor` (a rotated refresh token continuing `continues`) is in S3. When a revocation of that
   * grant has started, revokes the successor at Google, deletes it from S3 once Google confirmed, and returns true:
   * the refresh must not be used.
   */
  async revokedMeanwhile(email: string, successor: string, continues: readonly string[]): Promise<boolean> {
    let mark;
    try {
      mark = await this.marks.find(email);
    } catch (err) {
      // S3 answered the write a moment ago; without the mark's answer the revocation's own re-read is relied on.
      this.logger.warn({ msg: 'could not read the revocation mark after writing a rotated token', event: 'revocation_fence', outcome: 'unread', user: email, reason: (err as Error).message });
      return false;
    }
    if (!mark || !markCovers(mark, [...continues, successor])) return false;
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
