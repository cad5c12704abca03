import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { settleWithin } from '../common/settle-within.js';
import { AppConfig } from '../config/app-config.js';
import { CredentialsRepository } from './credentials.repository.js';
import type { GoogleCredentials } from './google-credentials.js';
import { RevocationFence } from './revocation-fence.js';
import { rotatedTo } from './rotation.js';
import { operatorDetail } from '../storage/storage.errors.js';

/** A refreshed grant that S3 does not hold yet. */
export interface UnwrittenRefresh {
  credentials: GoogleCredentials;
  /** The refresh tokens this one continues (the one refreshed and its unwritten ancestors): S3 may hold any of them. */
  continues: string[];
}

interface Entry extends UnwrittenRefresh {
  /** When the refresh that issued it started (ms since the epoch). */
  refreshStartedAt: number;
  /** The access token the refresh replaced (see mergeRefresh). */
  replacing?: string;
  /** Whether a read of any attempt found the object deleted (RefreshWriteOptions.missing). */
  missing: { seen: boolean };
  /** When it was first kept here (ms since the epoch): retries stop RETRY_FOR_MS later. */
  keptAt: number;
  attempts: number;
  timer?: NodeJS.Timeout;
  /** The attempt under way, if any: a second one joins it instead of writing twice. */
  running?: Promise<void>;
}

/** First retry after this long, doubling up to half of S3_TIMEOUT_MS (see maxDelayMs), with jitter. */
const FIRST_DELAY_MS = 200;
/** Retries for this long in all; then one error line, and the token stays in this replica's memory. */
const RETRY_FOR_MS = 4 * 60_000;

/**
 * Refreshed tokens whose S3 write failed. With rotation, Google has already refused the refresh token S3 holds, so
 * the new one must reach S3 or the grant is lost: it is kept here (and used for calls) and written again in the
 * background with backoff, with the same conditions as the first write (merge field by field, and only over the
 * grant it continues). A written, superseded or forgotten entry leaves.
 */
@Injectable()
export class RefreshWriteBack implements OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Credentials');
  private readonly pending = new Map<string, Entry>();
  /** Refreshes under way (each settles once its result is in S3 or scheduled here). */
  private readonly refreshing = new Set<Promise<void>>();
  /** Their S3 writes, once Google has answered. */
  private readonly writing = new Set<Promise<void>>();
  private firstShutdownWrite?: Promise<void>;

  constructor(
    private readonly repository: CredentialsRepository,
    private readonly fence: RevocationFence,
    private readonly config: AppConfig,
  ) {}

  /** The unwritten refresh of a user, if any. */
  get(email: string): UnwrittenRefresh | undefined {
    return this.pending.get(email);
  }

  /** How many users have a refreshed token that S3 does not hold yet. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * The longest wait between two attempts. Another replica that hears invalid_grant for the token this one rotated
   * away re-reads S3 for 2 x S3_TIMEOUT_MS + 2 s before it deletes the grant and ends the user's sessions
   * (DeadGrantGrace); once S3 answers again, this replica's next attempt must land inside that window: at most
   * 1.25 x half of S3_TIMEOUT_MS away, plus one quick write. Entries are rare (S3 failing between a refresh's read
   * and its write), so retrying this often for a few minutes costs S3 little.
   */
  private maxDelayMs(): number {
    return Math.max(FIRST_DELAY_MS, this.config.values.s3.timeoutMs / 2);
  }

  /** Keeps `credentials` and writes them to S3 in the background until they land. */
  schedule(email: string, credentials: GoogleCredentials, continues: string[], refreshStartedAt: Date, replacing?: string, missing = { seen: false }): void {
    this.cancel(email);
    const entry: Entry = { credentials, continues, replacing, missing, refreshStartedAt: refreshStartedAt.getTime(), keptAt: Date.now(), attempts: 0 };
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

  /** Follows a refresh under way: a shutdown waits for it (up to S3_TIMEOUT_MS) before its last write. */
  follow<T>(refresh: Promise<T>): Promise<T> {
    return this.track(this.refreshing, refresh);
  }

  /** Follows the S3 write of a token Google has issued: a shutdown waits for it (its S3 calls are bounded). */
  followWrite<T>(write: Promise<T>): Promise<T> {
    return this.track(this.writing, write);
  }

  private track<T>(set: Set<Promise<void>>, work: Promise<T>): Promise<T> {
    const settled = work.then(() => undefined, () => undefined);
    set.add(settled);
    void settled.then(() => set.delete(settled));
    return work;
  }

  /**
   * The first thing a shutdown does (Nest runs every onModuleDestroy before the other hooks, and readiness' delay
   * runs in HealthModule's hook before this module's): an attempt for each unwritten token, started at once and
   * awaited in beforeApplicationShutdown, so a drain that runs into Kubernetes' SIGKILL cannot take a grant with it.
   */
  onModuleDestroy(): void {
    this.firstShutdownWrite = this.attemptAll(true);
  }

  /** Before the HTTP drain: the first attempt has ended (failures keep their backoff during the drain). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.firstShutdownWrite;
  }

  /**
   * After the drain: the refreshes still under way (a drain cut at SHUTDOWN_DRAIN_MS leaves their handlers running)
   * get up to S3_TIMEOUT_MS (their read of S3) + GOOGLE_HTTP_TIMEOUT_MS to hear from Google: Google may have rotated
   * the grant already and answer late within its bound, and a process that exits first takes the only copy of the
   * new refresh token with it. Those Google has answered finish their S3 write (bounded by its own calls) or hand it
   * here; then one last, fresh attempt for each unwritten token.
   */
  async onApplicationShutdown(): Promise<void> {
    const { s3, google } = this.config.values;
    if (this.refreshing.size > 0) await settleWithin(Promise.allSettled([...this.refreshing]), s3.timeoutMs + google.httpTimeoutMs);
    await Promise.allSettled([...this.writing]);
    await this.attemptAll(false);
  }

  /** One attempt for each unwritten token; `retry`: failures keep their backoff, else this is the last (and fresh). */
  private async attemptAll(retry: boolean): Promise<void> {
    const entries = [...this.pending.entries()];
    entries.forEach(([, e]) => e.timer && clearTimeout(e.timer));
    await Promise.allSettled(entries.map(([email, entry]) => (retry ? this.attempt(email, entry, true) : this.write(email, entry, false))));
  }

  private arm(email: string, entry: Entry): void {
    const delay = Math.min(this.maxDelayMs(), FIRST_DELAY_MS * 2 ** entry.attempts) * (0.75 + Math.random() / 2);
    entry.timer = setTimeout(() => void this.attempt(email, entry, true), delay);
    entry.timer.unref();
  }

  private attempt(email: string, entry: Entry, retry: boolean): Promise<void> {
    if (this.pending.get(email) !== entry) return Promise.resolve();
    entry.running ??= this.write(email, entry, retry).finally(() => (entry.running = undefined));
    return entry.running;
  }

  private async write(email: string, entry: Entry, retry: boolean): Promise<void> {
    if (this.pending.get(email) !== entry) return;
    entry.attempts++;
    try {
      const { credentials: c, continues } = entry;
      const patch = { token: c.token, expiry: c.expiry, scopes: c.scopes, refreshToken: c.refreshToken };
      const successor = rotatedTo(c.refreshToken, continues);
      // Re-created only with a rotated token, and then checked against a revocation that started meanwhile
      // (RevocationFence): without rotation the deleted object held nothing that this entry would save.
      const result = await this.repository.saveRefreshed(email, patch, continues, { recreateFrom: successor ? c : undefined, replacing: entry.replacing, missing: entry.missing });
      if (this.pending.get(email) === entry) this.pending.delete(email);
      if (result.outcome === 'written' && successor) {
        await this.fence.revokedMeanwhile({ email, successor, continues, recreated: result.recreated, refreshStartedAt: entry.refreshStartedAt, grantStoredAt: c.updatedAt?.getTime() });
      }
      this.logger.log({ msg: result.outcome === 'written' ? 'refreshed Google token written to S3' : 'refreshed Google token superseded by a newer sign-in; not written', event: 'refresh_write_retry', outcome: result.outcome, user: email, attempts: entry.attempts });
    } catch (err) {
      if (this.pending.get(email) !== entry) return;
      if (!retry) {
        // The shutdown's last attempt: the process exits with the only copy of a grant Google may have rotated away
        // from the one in S3. Said as an error, so the operator knows whose sign-in to expect (the token stays out).
        this.logger.error({ msg: 'refreshed Google token not written to S3 before shutdown; if Google rotated it, the user must sign in again', event: 'refresh_write_retry', outcome: 'lost', user: email, attempts: entry.attempts, reason: operatorDetail(err) });
      } else if (Date.now() - entry.keptAt >= RETRY_FOR_MS) {
        // Kept (and used) without more timers: the user's next refresh here writes again, and shutdown tries once more.
        this.logger.error({ msg: 'stopped retrying to write a refreshed Google token to S3; this replica keeps it in memory', event: 'refresh_write_retry', outcome: 'gave_up', user: email, attempts: entry.attempts, reason: operatorDetail(err) });
      } else {
        this.arm(email, entry);
      }
    }
  }
}
