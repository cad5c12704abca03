import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { eachTried } from '../common/each-tried.js';
import { Metrics } from '../observability/metrics.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { fromSessionDocument, SESSION_ID_PATTERN } from './session.js';

/** Deletes run this many at a time: a background chore, not allowed to crowd out requests' S3 calls. */
const SWEEP_CONCURRENCY = 4;
/** Slack on top of the longest session lifetime before an object is even looked at (clock skew, S3's whole seconds). */
const HORIZON_MARGIN_MS = 60 * 60 * 1000;

/** What one sweep found and did. */
export interface SweepOutcome {
  sessionsDeleted: number;
  indexEntriesDeleted: number;
  failures: number;
}

/**
 * Deletes expired sessions from S3: `{S3_SESSION_PREFIX}{id}.json` and their `by-user/{email}/{id}` index entries.
 * An expired session can no longer be used, but nothing else removes it (logout and revocation remove only live
 * ones), and a lifecycle rule cannot: the prefix also holds revocation marks and times that must not expire by age.
 *
 * Every SESSION_SWEEP_INTERVAL_MINUTES (first run at a random point of the first interval, so replicas spread out and
 * boot lists nothing), one listing of the prefix; only objects older than the longest lifetime a session can have
 * (JWT_TTL_SECONDS for a browser sign-in, OAUTH_REFRESH_TOKEN_TTL_SECONDS for an OAuth client's) plus an hour are
 * candidates, and each is deleted only once its own `expires_at` (a session) or its session (an index entry) says it
 * has ended. Sessions and index entries are create-only, so a delete can never remove something written later under
 * the same key. Replicas sweeping at once only repeat each other's idempotent deletes.
 */
@Injectable()
export class ExpiredSessionSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Sessions');
  private readonly prefix: string;
  private readonly intervalMs: number;
  private readonly horizonMs: number;
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private running?: Promise<SweepOutcome>;

  constructor(
    private readonly objects: JsonObjectRepository,
    private readonly metrics: Metrics,
    config: AppConfig,
  ) {
    const v = config.values;
    this.prefix = v.s3.sessionPrefix;
    this.intervalMs = v.sessions.sweepIntervalMinutes * 60_000;
    this.horizonMs = Math.max(v.jwt.ttlSeconds, v.oauth.refreshTokenTtlSeconds) * 1000 + HORIZON_MARGIN_MS;
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs > 0) this.schedule(Math.floor(Math.random() * this.intervalMs));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    // A sweep in progress stops before its next delete; each S3 call in it is bounded by S3_TIMEOUT_MS.
    await this.running?.catch(() => undefined);
  }

  /**
   * One sweep (joins one already running), judging expiry as of `now`. Failures are counted and logged; the next
   * sweep retries them. Rejects only when S3 cannot be listed.
   */
  sweep(now = Date.now()): Promise<SweepOutcome> {
    this.running ??= this.sweepOnce(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.sweep()
        .catch((err: unknown) => this.logger.warn({ msg: 'expired session sweep could not list S3; it runs again later', error: (err as Error).message }))
        .finally(() => {
          if (!this.stopping) this.schedule(this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async sweepOnce(now: number): Promise<SweepOutcome> {
    const cutoff = now - this.horizonMs;
    const sessions: string[] = [];
    const index: { id: string; key: string }[] = [];
    for await (const { key, modified } of this.objects.listAllWithDates(this.prefix)) {
      if (this.stopping) break;
      if (modified.getTime() >= cutoff) continue;
      const rest = key.slice(this.prefix.length);
      const top = /^([A-Za-z0-9_-]{43})\.json$/.exec(rest);
      if (top) sessions.push(top[1]);
      const entry = /^by-user\/([^/]+)\/([^/]+)$/.exec(rest);
      if (entry && SESSION_ID_PATTERN.test(entry[2])) index.push({ id: entry[2], key });
    }
    const outcome: SweepOutcome = { sessionsDeleted: 0, indexEntriesDeleted: 0, failures: 0 };
    const tried = async <T>(items: T[], work: (item: T) => Promise<void>) => {
      await eachTried(items, SWEEP_CONCURRENCY, async (item) => {
        if (this.stopping) return;
        await work(item).catch(() => void (outcome.failures += 1));
      });
    };
    // Sessions first, then the index entries of sessions that are gone or expired (revocation finds a user's live
    // sessions through the index; an expired one needs no finding).
    await tried(sessions, async (id) => {
      if ((await this.state(id, now)) !== 'expired') return;
      await this.objects.delete(this.sessionKey(id));
      outcome.sessionsDeleted += 1;
    });
    await tried(index, async ({ id, key }) => {
      const state = await this.state(id, now);
      if (state !== 'gone' && state !== 'expired') return;
      await this.objects.delete(key);
      outcome.indexEntriesDeleted += 1;
    });
    this.metrics.sessions.inc({ event: 'expired_deleted' }, outcome.sessionsDeleted);
    if (outcome.sessionsDeleted + outcome.indexEntriesDeleted + outcome.failures > 0) {
      this.logger.log({ msg: 'expired sessions deleted from S3', ...outcome });
    }
    return outcome;
  }

  /**
   * 'gone' (no object), 'expired' (its expires_at has passed), 'live', or 'unknown': an object that does not parse
   * as this session is left alone (it may not be ours to delete; an operator's to judge).
   */
  private async state(id: string, now: number): Promise<'gone' | 'expired' | 'live' | 'unknown'> {
    const stored = await this.objects.get(this.sessionKey(id));
    if (!stored) return 'gone';
    const session = fromSessionDocument(id, stored.value);
    if (!session) return 'unknown';
    return session.expiresAtMs <= now ? 'expired' : 'live';
  }

  private sessionKey(id: string): string {
    return `${this.prefix}${id}.json`;
  }
}
