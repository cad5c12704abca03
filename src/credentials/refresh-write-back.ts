import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CredentialsRepository } from './credentials.repository.js';
import type { GoogleCredentials } from './google-credentials.js';

/** A refreshed grant that S3 does not hold yet. */
export interface UnwrittenRefresh {
  credentials: GoogleCredentials;
  /** The refresh tokens this one continues (the one refreshed and its unwritten ancestors): S3 may hold any of them. */
  continues: string[];
}

interface Entry extends UnwrittenRefresh {
  attempts: number;
  timer?: NodeJS.Timeout;
}

/** First retry after this long, doubling up to MAX_DELAY_MS, with jitter. */
const FIRST_DELAY_MS = 200;
const MAX_DELAY_MS = 30_000;
/** About 4 minutes of retries in all; then one error line, and the token stays in this replica's memory. */
const MAX_ATTEMPTS = 12;

/**
 * Refreshed tokens whose S3 write failed. With rotation, Google has already refused the refresh token S3 holds, so
 * the new one must reach S3 or the grant is lost: it is kept here (and used for calls) and written again in the
 * background with backoff, with the same conditions as the first write (merge field by field, and only over the
 * grant it continues). A written, superseded or forgotten entry leaves.
 */
@Injectable()
export class RefreshWriteBack implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Credentials');
  private readonly pending = new Map<string, Entry>();

  constructor(private readonly repository: CredentialsRepository) {}

  /** The unwritten refresh of a user, if any. */
  get(email: string): UnwrittenRefresh | undefined {
    return this.pending.get(email);
  }

  /** How many users have a refreshed token that S3 does not hold yet. */
  get size(): number {
    return this.pending.size;
  }

  /** Keeps `credentials` and writes them to S3 in the background until they land. */
  schedule(email: string, credentials: GoogleCredentials, continues: string[]): void {
    this.cancel(email);
    const entry: Entry = { credentials, continues, attempts: 0 };
    this.pending.set(email, entry);
    this.logger.warn({ msg: 'refreshed Google token not yet in S3; writing it again in the background', event: 'refresh_write_retry', user: email });
    this.arm(email, entry);
  }

  /** Forgets the user's unwritten refresh (it landed another way, was superseded, or the user was revoked). */
  cancel(email: string): void {
    const entry = this.pending.get(email);
    if (entry?.timer) clearTimeout(entry.timer);
    this.pending.delete(email);
  }

  /**
   * On SIGTERM, before the HTTP drain: an attempt for each unwritten token now (failures keep their backoff), so a
   * drain that runs into Kubernetes' SIGKILL cannot take a grant with it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.attemptAll(true);
  }

  /** One last attempt for each token still unwritten after the drain (among them those refreshed during it). */
  async onApplicationShutdown(): Promise<void> {
    await this.attemptAll(false);
  }

  private async attemptAll(retry: boolean): Promise<void> {
    const entries = [...this.pending.entries()];
    entries.forEach(([, e]) => e.timer && clearTimeout(e.timer));
    await Promise.allSettled(entries.map(([email, entry]) => this.attempt(email, entry, retry)));
  }

  private arm(email: string, entry: Entry): void {
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** entry.attempts) * (0.75 + Math.random() / 2);
    entry.timer = setTimeout(() => void this.attempt(email, entry, true), delay);
    entry.timer.unref();
  }

  private async attempt(email: string, entry: Entry, retry: boolean): Promise<void> {
    if (this.pending.get(email) !== entry) return;
    entry.attempts++;
    try {
      const { credentials: c, continues } = entry;
      const patch = { token: c.token, expiry: c.expiry, scopes: c.scopes, refreshToken: c.refreshToken };
      const result = await this.repository.saveRefreshed(email, patch, continues, c);
      if (this.pending.get(email) === entry) this.pending.delete(email);
      this.logger.log({ msg: result.outcome === 'written' ? 'refreshed Google token written to S3' : 'refreshed Google token superseded by a newer sign-in; not written', event: 'refresh_write_retry', outcome: result.outcome, user: email, attempts: entry.attempts });
    } catch (err) {
      if (this.pending.get(email) !== entry) return;
      if (entry.attempts >= MAX_ATTEMPTS) {
        // Kept (and used) without more timers: the user's next refresh here writes again, and shutdown tries once more.
        this.logger.error({ msg: 'stopped retrying to write a refreshed Google token to S3; this replica keeps it in memory', event: 'refresh_write_retry', outcome: 'gave_up', user: email, attempts: entry.attempts, reason: (err as Error).message });
      } else if (retry) {
        this.arm(email, entry);
      }
    }
  }
}
