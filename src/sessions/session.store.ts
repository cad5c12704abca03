import { Injectable, Logger } from '@nestjs/common';
import type { LRUCache } from 'lru-cache';
import { growingLru } from '../common/growing-lru.js';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { Metrics } from '../observability/metrics.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { fromSessionDocument, makeSession, Session, SESSION_ID_PATTERN, toSessionDocument } from './session.js';
import { SingleFlight } from '../common/single-flight.js';
import { SessionsByUser } from './sessions-by-user.js';
import { eachTried } from '../common/each-tried.js';
import { settleWithin } from '../common/settle-within.js';

interface CachedLookup {
  /** undefined = known not to exist (ended, or never existed). */
  session: Session | undefined;
  /** When S3 last confirmed this (or the session was created here). */
  checkedAt: number;
  /** When the last attempt to re-check it failed because S3 was unreachable. */
  failedAt?: number;
}

/** How many session deletes run at once when a user's sessions end (revocation). */
const DELETE_CONCURRENCY = 8;
/** A waiter on someone else's S3 load gives up this long after S3_TIMEOUT_MS (the load itself is bounded by it). */
const WAITER_MARGIN_MS = 250;
/** How long a request waits for the re-check of a session held in memory before going on from memory. */
const REVALIDATE_WAIT_MS = 500;

/**
 * Sessions in memory, backed by S3 so every replica sees them. A replica trusts its memory copy for
 * SESSION_CACHE_TTL_MS, which bounds how late another replica's logout or revocation is noticed; the hot path
 * makes no S3 call. There is deliberately no way to change a stored session: the binding to a user is for life.
 *
 * Warm-user rule (docs/failure-model.md): a session S3 confirmed within the last SESSION_OUTAGE_GRACE_MS is
 * re-checked after SESSION_CACHE_TTL_MS, but a request waits at most REVALIDATE_WAIT_MS for that check; when S3 is
 * slow or unreachable it goes on from memory (the check, bounded by S3_TIMEOUT_MS, updates memory when it ends, and
 * after a failure S3 is tried again at most once per SESSION_CACHE_TTL_MS). Sessions unknown here, or confirmed
 * longer ago than the grace, wait for S3 (at most S3_TIMEOUT_MS) and get a 503 naming S3 when it does not answer.
 */
@Injectable()
export class SessionStore {
  private readonly logger = new Logger('Sessions');
  private readonly memory: LRUCache<string, CachedLookup>;
  /** The live sessions in `memory`, by user (kept in step with it by remember() and the cache's onLeave). */
  private readonly byUser = new SessionsByUser();
  private readonly loading = new SingleFlight<Session | undefined>();
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly outageGraceMs: number;
  private readonly waiterBoundMs: number;
  private readonly revalidateWaitMs: number;

  constructor(
    private readonly objects: JsonObjectRepository,
    private readonly metrics: Metrics,
    config: AppConfig,
  ) {
    this.prefix = config.values.s3.sessionPrefix;
    this.ttlMs = config.values.sessions.cacheTtlMs;
    this.outageGraceMs = config.values.sessions.outageGraceMs;
    this.waiterBoundMs = config.values.s3.timeoutMs + WAITER_MARGIN_MS;
    this.revalidateWaitMs = Math.min(config.values.s3.timeoutMs, REVALIDATE_WAIT_MS);
    this.memory = growingLru<string, CachedLookup>({
      max: config.values.sessions.cacheMax,
      onLeave: (entry, id) => {
        if (entry.session) this.byUser.remove(entry.session.email, id);
      },
    });
  }

  /** Creates a session for a verified user, in S3 (create-only) and in memory. */
  async create(email: string, lifetimeSeconds: number): Promise<Session> {
    const now = Date.now();
    const session = makeSession(randomBytes(32).toString('base64url'), email, now, now + lifetimeSeconds * 1000);
    // If-None-Match: an id collision (or a replay) can never overwrite, and so never rebind, an existing session.
    // The session and its index entry are written at once: no bearer is issued unless both landed, so when one
    // fails what the other wrote is harmless (an index entry revocation skips, or a session nobody can name).
    await Promise.all([
      this.objects.create(this.sessionKey(session.sessionId), toSessionDocument(session)),
      this.objects.create(this.userIndexKey(email, session.sessionId), { session_id: session.sessionId }),
    ]);
    this.remember(session.sessionId, session);
    this.metrics.sessions.inc({ event: 'created' });
    return session;
  }

  /** The live session with this id: memory first, S3 when unknown here or older than SESSION_CACHE_TTL_MS. */
  async find(sessionId: string): Promise<Session | undefined> {
    const cached = this.memory.get(sessionId);
    const now = Date.now();
    if (cached && now - cached.checkedAt < this.ttlMs) return live(cached.session, now);
    // S3 was unreachable a moment ago: keep serving a recently confirmed session without waiting for it again.
    if (cached?.failedAt && now - cached.failedAt < this.ttlMs && this.withinGrace(cached, now)) return live(cached.session, now);
    if (!SESSION_ID_PATTERN.test(sessionId)) return undefined;
    const pending = this.loading.run(sessionId, () => this.load(sessionId, cached?.session));
    if (cached?.session && this.withinGrace(cached, now)) {
      // Re-checking a session held here: wait briefly, then go on from memory while the check finishes in the
      // background (it updates memory when it does), so a stalled S3 never stalls a warm user.
      const result = await settleWithin(pending, this.revalidateWaitMs);
      if (result.done === 'ok') return live(result.value, Date.now());
      if (result.done === 'error' && !(result.error instanceof StorageError && result.error.isOutage)) throw result.error;
      return live(cached.session, Date.now());
    }
    return live(await bounded(pending, this.waiterBoundMs), Date.now());
  }

  /**
   * The live session with this id as S3 holds it now, never memory's copy (nor a lookup already in flight, which may
   * have started before another replica ended it): for acts that must not ride on a session ended elsewhere within
   * SESSION_CACHE_TTL_MS, such as revoking the whole account. Bounded like find(); updates memory with what it read.
   */
  async findInStorage(sessionId: string): Promise<Session | undefined> {
    if (!SESSION_ID_PATTERN.test(sessionId)) return undefined;
    const known = this.memory.peek(sessionId)?.session;
    return live(await bounded(this.load(sessionId, known), this.waiterBoundMs), Date.now());
  }

  /**
   * Ends one session (logout). The S3 delete comes first: only once S3 confirms is the session forgotten here,
   * so a failed delete leaves it usable and the caller is told to retry (it would live on in S3 otherwise).
   */
  async end(session: Session): Promise<void> {
    await this.objects.delete(this.sessionKey(session.sessionId));
    this.remember(session.sessionId, undefined);
    this.metrics.sessions.inc({ event: 'ended' });
    await this.deleteIndexEntry(session.email, session.sessionId);
  }

  /**
   * Ends every session of a user created before `createdBefore` (default: all), on every replica (others notice
   * within SESSION_CACHE_TTL_MS). Returns how many were ended; see endListed for failures.
   */
  async endAllForUser(email: string, createdBefore?: Date): Promise<number> {
    return this.endListed(email, await this.listForUser(email, createdBefore));
  }

  /** The ids of a user's sessions created before `createdBefore` (default: all): S3's index and this replica's memory. */
  async listForUser(email: string, createdBefore?: Date): Promise<string[]> {
    const cutoff = createdBefore?.getTime() ?? Infinity;
    const ids = new Set<string>();
    for await (const { key, modified } of this.objects.listAllWithDates(this.userIndexPrefix(email))) {
      const id = key.slice(key.lastIndexOf('/') + 1);
      // LastModified has whole seconds: within a second of the cutoff, the session's own created_at decides.
      if (modified.getTime() + 1000 <= cutoff || (modified.getTime() < cutoff && (await this.storedCreatedAt(id)) < cutoff)) ids.add(id);
    }
    for (const id of this.byUser.of(email)) {
      const session = this.memory.peek(id)?.session;
      if (session?.email === email && session.createdAtMs < cutoff) ids.add(id);
    }
    return [...ids];
  }

  /**
   * Ends these sessions of a user (ids from listForUser), each session before its index entry. Deletes run
   * DELETE_CONCURRENCY at a time; every one is tried, and the first failure is thrown afterwards, so a retry finds
   * only what is left. Returns how many were ended.
   */
  async endListed(email: string, ids: readonly string[]): Promise<number> {
    let ended = 0;
    try {
      await eachTried(ids, DELETE_CONCURRENCY, async (id) => {
        await this.objects.delete(this.sessionKey(id));
        this.remember(id, undefined);
        await this.objects.delete(this.userIndexKey(email, id));
        ended += 1;
      });
    } finally {
      this.metrics.sessions.inc({ event: 'revoked' }, ended);
    }
    return ended;
  }

  /** When a stored session was created (ms); -Infinity when it is gone or unreadable (its index entry is left over). */
  private async storedCreatedAt(sessionId: string): Promise<number> {
    const stored = await this.objects.get(this.sessionKey(sessionId));
    return (stored && fromSessionDocument(sessionId, stored.value)?.createdAtMs) ?? -Infinity;
  }

  /** What S3 just confirmed (or this replica just did) about a session: undefined = it does not exist. */
  private remember(sessionId: string, session: Session | undefined): void {
    // The set hands a replaced entry to onLeave, which forgets its user; a live session is then recorded again.
    this.memory.set(sessionId, { session, checkedAt: Date.now() });
    if (session) this.byUser.add(session.email, sessionId);
  }

  private withinGrace(entry: CachedLookup, now: number): boolean {
    return Boolean(entry.session) && now - entry.checkedAt < this.outageGraceMs;
  }

  /** The per-user index entry; a leftover is harmless (revocation lists it and deletes what it points to). */
  private async deleteIndexEntry(email: string, sessionId: string): Promise<void> {
    try {
      await this.objects.delete(this.userIndexKey(email, sessionId));
    } catch (err) {
      this.logger.warn({ msg: 'session ended, but its index entry could not be deleted; revocation will remove it', error: (err as Error).message });
    }
  }

  private async load(sessionId: string, known: Session | undefined): Promise<Session | undefined> {
    const startedAt = Date.now();
    let stored;
    try {
      stored = await this.objects.get(this.sessionKey(sessionId));
    } catch (err) {
      const entry = this.memory.get(sessionId);
      if (err instanceof StorageError && err.isOutage && entry?.session && this.withinGrace(entry, Date.now())) {
        if (!entry.failedAt) this.logger.warn({ msg: 'S3 unreachable: serving a session from memory (outage grace)', sessionAgeMs: Date.now() - entry.checkedAt, graceMs: this.outageGraceMs });
        entry.failedAt = Date.now();
      }
      throw err;
    }
    // A read S3 answered slowly may predate a logout or revocation this replica confirmed meanwhile: what it read
    // is then stale, and writing it back would revive the ended session here for SESSION_CACHE_TTL_MS (longer
    // if S3 then goes down). The ended entry is newer and wins. (Date.now() has whole ms: an end confirmed in the
    // same ms as the read started also wins, which errs on the side of ended.)
    const latest = this.memory.peek(sessionId);
    if (latest && !latest.session && latest.checkedAt >= startedAt) return undefined;
    let session = stored ? fromSessionDocument(sessionId, stored.value) : undefined;
    if (session && known && session.email !== known.email) {
      // The binding never changes; a stored object that says otherwise was tampered with. Refuse it.
      this.metrics.securityViolations.inc({ reason: 'session_rebind' });
      this.logger.error({ msg: 'SECURITY VIOLATION', event: 'security_violation', reason: 'session_rebind', sessionOwner: known.email, storedEmail: session.email });
      session = undefined;
    }
    this.remember(sessionId, session ?? undefined);
    return session;
  }

  private sessionKey(sessionId: string): string {
    return `${this.prefix}${sessionId}.json`;
  }

  private userIndexPrefix(email: string): string {
    return `${this.prefix}by-user/${email}/`;
  }

  private userIndexKey(email: string, sessionId: string): string {
    return `${this.userIndexPrefix(email)}${sessionId}`;
  }
}

/** Waits for a shared promise at most `ms`; the promise itself keeps running for whoever else waits on it. */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageError('timeout', `S3 did not answer a session lookup within ${ms} ms. Retry shortly.`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function live(session: Session | undefined, now: number): Session | undefined {
  return session && session.expiresAtMs > now ? session : undefined;
}
