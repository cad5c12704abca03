import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { CurrentGrant } from './current-grant.js';

/** While S3 still holds a refresh token Google refused, it is re-read this often during the grace period. */
const POLL_MS = 250;

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
   */
  async successorArrives(email: string, refused: ReadonlySet<string>): Promise<boolean> {
    const until = Date.now() + this.graceMs;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const grant = await this.grants.read(email, refused).catch(() => undefined);
      const rt = grant?.credentials.refreshToken;
      if (rt && !refused.has(rt)) return true;
    }
    return false;
  }
}
