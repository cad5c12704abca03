import { Injectable } from '@nestjs/common';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';

/**
 * `{S3_SESSION_PREFIX}revoked/{sha256(email)}.json`: when the user's last revocation started. It outlives the
 * revocation that erased the rest of the user's data, so it holds neither the address nor anything else of theirs.
 */
interface RevocationWatermark {
  version: 1;
  revoked_at: string;
}

/**
 * When each user last revoked, so that what a sign-in before it left in flight cannot outlive it. A revocation ends
 * the sessions that exist, but an OAuth authorization code (60 s), a resume ticket (5 min) or a consent form naming
 * the user (10 min) issued before it is not a session yet: exchanged afterwards, it would start a new session and
 * refresh family. Each carries the time of the Google sign-in it came from, and the token endpoint refuses it when
 * that is not after the user's last revocation.
 *
 * A mark in S3 rather than a list of the user's pending codes to delete: codes are keyed by their hash (nothing
 * finds a user's codes without an index), tickets and forms live only in the browser (sealed), and replicas keep
 * nothing of them in memory, so one read of S3 at the exchange answers for every replica. The mark is written with
 * the revocation's own mark (before any session ends) and never cleared: a sign-in after the revocation compares
 * later and is unaffected. Every item it guards lives at most minutes, so an S3 lifecycle rule may expire the
 * prefix after a day; one object per user who ever revoked otherwise.
 *
 * The times come from different replicas' clocks (NTP: milliseconds apart), and nothing issued from a sign-in is
 * refused for being close to a revocation that started after it: a person who revokes and reconnects an
 * application at once must not be refused.
 */
@Injectable()
export class RevocationWatermarks {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.s3.sessionPrefix}revoked/`;
  }

  /** Records that a revocation of the user started at `startedAt`. */
  async record(email: string, startedAt: Date): Promise<void> {
    await this.objects.put(this.key(email), { version: 1, revoked_at: startedAt.toISOString() } satisfies RevocationWatermark);
  }

  /** True when the user revoked at or after `signedInAt` (ms since the epoch): what that sign-in issued is void. */
  async revokedSince(email: string, signedInAt: number): Promise<boolean> {
    const mark = (await this.objects.get(this.key(email)))?.value as Partial<RevocationWatermark> | undefined;
    if (!mark || typeof mark.revoked_at !== 'string') return false;
    const revokedAt = Date.parse(mark.revoked_at);
    return !Number.isNaN(revokedAt) && revokedAt >= signedInAt;
  }

  private key(email: string): string {
    return `${this.prefix}${sha256Url(email)}.json`;
  }
}
