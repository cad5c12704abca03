import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { eachTried } from '../common/each-tried.js';
import { SingleFlight } from '../common/single-flight.js';
import { Metrics } from '../observability/metrics.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { fromSessionDocument, SESSION_ID_PATTERN } from './session.js';
import { operatorDetail } from '../storage/storage.errors.js';

/** Deletes run this many at a time: a background chore, not allowed to crowd out requests' S3 calls. */
const SWEEP_CONCURRENCY = 4;
/** Candidates listed before the sweep works them off. */
const SWEEP_BATCH = 500;
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
  private readonly runs = new SingleFlight<SweepOutcome>();

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
    if (this.runs.has('sweep')) await this.sweep().catch(() => undefined);
  }

  /**
   * One sweep (joins one already running), judging expiry as of `now`. Failures are counted and logged; the next
   * sweep retries them. Rejects only when S3 cannot be listed.
   */
  sweep(now = Date.now()): Promise<SweepOutcome> {
    return this.runs.run('sweep', () => this.sweepOnce(now));
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.sweep()
        .catch((err: unknown) => this.logger.warn({ msg: 'expired session sweep could not list S3; it runs again later', error: operatorDetail(err) }))
        .finally(() => {
          if (!this.stopping) this.schedule(this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async sweepOnce(now: number): Promise<SweepOutcome> {
    const cutoff = now - this.horizonMs;
    const outcome: SweepOutcome = { sessionsDeleted: 0, indexEntriesDeleted: 0, failures: 0 };
    // Worked off in batches while the listing goes on, so a bucket holding a year of expired sessions is swept in
    // bounded memory (S3's listing continues after a key, so deleting what was listed does not disturb it).
    let batch: Candidate[] = [];
    const work = async () => {
      const items = batch;
      batch = [];
      await eachTried(items, SWEEP_CONCURRENCY, async (item) => {
        if (!this.stopping) await this.judge(item, now, outcome).catch(() => void (outcome.failures += 1));
      });
    };
    for await (const { key, modified } of this.objects.listAllWithDates(this.prefix)) {
      if (this.stopping) break;
      if (modified.getTime() >= cutoff) continue;
      const candidate = candidateOf(key.slice(this.prefix.length), key);
      if (candidate) batch.push(candidate);
      if (batch.length >= SWEEP_BATCH) await work();
    }
    await work();
    this.metrics.sessions.inc({ event: 'expired_deleted' }, outcome.sessionsDeleted);
    if (outcome.sessionsDeleted + outcome.indexEntriesDeleted + outcome.failures > 0) {
      this.logger.log({ msg: 'expired sessions deleted from S3', ...outcome });
    }
    return outcome;
  }

  /**
   * Deletes a session once its own expires_at has passed, and an index entry once its session is gone or expired
   * (revocation finds a user's live sessions through the index; an expired one needs no finding).
   */
  private async judge(item: Candidate, now: number, outcome: SweepOutcome): Promise<void> {
    const state = await this.state(item.id, now);
    if (item.kind === 'session' && state === 'expired') {
      await this.objects.delete(item.key);
      outcome.sessionsDeleted += 1;
    } else if (item.kind === 'index' && (state === 'gone' || state === 'expired')) {
      await this.objects.delete(item.key);
      outcome.indexEntriesDeleted += 1;
    }
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

interface Candidate {
  kind: 'session' | 'index';
  id: string;
  key: string;
}

/** What a key under the session prefix is to the sweep: a session object, an index entry, or nothing of its concern. */
function candidateOf(rest: string, key: string): Candidate | undefined {
  const session = /^([A-Za-z0-9_-]{43})\.json$/.exec(rest);
  if (session) return { kind: 'session', id: session[1], key };
  const entry = /^by-user\/[^/]+\/([^/]+)$/.exec(rest);
  if (entry && SESSION_ID_PATTERN.test(entry[1])) return { kind: 'index', id: entry[1], key };
  return undefined;
}
