import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { CurrentGrant } from './current-grant.js';

/** While S3 still holds a refresh token Google refused, it is re-read this often during the grace period. */
const POLL_MS = 250;
/** The longest wait, in grace periods, when S3 keeps failing reads (see successorArrives). */
const MAX_WAIT_PERIODS = 2;

/**
 * The wait before Google's invalid_grant is believed. With rotation, the replica that won a rotation race may be
 * storing the successor of the refused token right now: until the grace period ends, S3 is re-read for it.
 */
@Injectable()
export class DeadGrantGrace {
  private readonly graceMs: number;

  constructor(
    private readonly grants: CurrentGrant,
    config: AppConfig,
  ) {
    // A replica that won a rotation race needs Google's answer plus one S3 write to store the new token; a refused
    // token is believed dead only if S3 still holds it after that. The window covers that write timing out once
    // (S3_TIMEOUT_MS) and its first background retry timing out too (S3_TIMEOUT_MS more, after at most 250 ms of
    // backoff), plus the next retry's backoff and write: with S3 failing one call in twenty (the soak), one timeout
    // of S3_TIMEOUT_MS + 1 s let two faults in a row end every session of a user whose grant was alive.
    this.graceMs = 2 * config.values.s3.timeoutMs + 2000;
  }

  /**
   * S3 still holds a refresh token Google refused (one of `refused`): re-reads it for the grace period, and answers
   * true as soon as it holds another refresh token, false once the period is over.
   *
   * Only time in which S3 answered counts towards the period: while it does not answer this replica, it may not
   * answer the one that rotated either, whose write then lands only after S3 is back. Counted by the clock alone, an
   * outage that took most of the period left that write too little time, and the live grant's sessions ended (the
   * object deleted, then re-created by the successor's write). The wait is still bounded: a read that fails once
   * MAX_WAIT_PERIODS periods have passed in all ends it with that error (503, nothing deleted; the next call waits
   * afresh).
   */
  async successorArrives(email: string, refused: ReadonlySet<string>): Promise<boolean> {
    const giveUpAt = Date.now() + MAX_WAIT_PERIODS * this.graceMs;
    let left = this.graceMs;
    while (left > 0) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const started = Date.now();
      try {
        const rt = (await this.grants.read(email, refused))?.credentials.refreshToken;
        if (rt && !refused.has(rt)) return true;
        left -= POLL_MS + (Date.now() - started);
      } catch (err) {
        if (Date.now() >= giveUpAt) throw err;
      }
    }
    return false;
  }
}
