import { Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { Metrics } from '../observability/metrics.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { fromSessionDocument, makeSession, Session, SESSION_ID_PATTERN, toSessionDocument } from './session.js';

interface CachedLookup {
  /** undefined = known not to exist (ended, or never existed). */
  session: Session | undefined;
  checkedAt: number;
}

/**
 * Sessions in memory, backed by S3 so every replica sees them. A replica trusts its memory copy for
 * SESSION_CACHE_TTL_MS, which bounds how late another replica's logout or revocation is noticed; the hot path
 * makes no S3 call. There is deliberately no way to change a stored session: the binding to a user is for life.
 */
@Injectable()
export class SessionStore {
  private readonly logger = new Logger('Sessions');
  private readonly memory: LRUCache<string, CachedLookup>;
  private readonly loading = new Map<string, Promise<Session | undefined>>();
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(
    private readonly objects: JsonObjectRepository,
    private readonly metrics: Metrics,
    config: AppConfig,
  ) {
    this.prefix = config.values.s3.sessionPrefix;
    this.ttlMs = config.values.sessions.cacheTtlMs;
    this.memory = new LRUCache({ max: config.values.sessions.cacheMax });
  }

  /** Creates a session for a verified user, in S3 (create-only) and in memory. */
  async create(email: string, lifetimeSeconds: number): Promise<Session> {
    const now = new Date();
    const session = makeSession(randomBytes(32).toString('base64url'), email, now, new Date(now.getTime() + lifetimeSeconds * 1000));
    // If-None-Match: an id collision (or a replay) can never overwrite, and so never rebind, an existing session.
    await this.objects.put(this.sessionKey(session.sessionId), toSessionDocument(session), { ifNoneMatch: '*' });
    await this.objects.put(this.userIndexKey(email, session.sessionId), { session_id: session.sessionId }, { ifNoneMatch: '*' });
    this.memory.set(session.sessionId, { session, checkedAt: Date.now() });
    this.metrics.sessions.inc({ event: 'created' });
    return session;
  }

  /** The live session with this id: memory first, S3 when unknown here or older than SESSION_CACHE_TTL_MS. */
  async find(sessionId: string): Promise<Session | undefined> {
    const cached = this.memory.get(sessionId);
    const now = Date.now();
    if (cached && now - cached.checkedAt < this.ttlMs) return live(cached.session, now);
    if (!SESSION_ID_PATTERN.test(sessionId)) return undefined;
    let pending = this.loading.get(sessionId);
    if (!pending) {
      pending = this.load(sessionId, cached?.session).finally(() => this.loading.delete(sessionId));
      this.loading.set(sessionId, pending);
    }
    return live(await pending, Date.now());
  }

  /** Ends one session (logout). */
  async end(session: Session): Promise<void> {
    this.memory.set(session.sessionId, { session: undefined, checkedAt: Date.now() });
    await this.objects.delete(this.sessionKey(session.sessionId));
    await this.objects.delete(this.userIndexKey(session.email, session.sessionId));
    this.metrics.sessions.inc({ event: 'ended' });
  }

  /**
   * Ends every session of a user, on every replica (others notice within SESSION_CACHE_TTL_MS). With
   * `createdBefore`, only sessions created before that instant end (a dead grant takes only the sessions built on it).
   */
  async endAllForUser(email: string, opts: { createdBefore?: Date } = {}): Promise<number> {
    const ids = new Set<string>();
    for await (const key of this.objects.listAll(this.userIndexPrefix(email))) ids.add(key.slice(key.lastIndexOf('/') + 1));
    for (const [id, entry] of this.memory.entries()) if (entry.session?.email === email) ids.add(id);
    if (opts.createdBefore) await this.excludeCreatedSince(ids, opts.createdBefore.getTime());
    const now = Date.now();
    for (const id of ids) {
      this.memory.set(id, { session: undefined, checkedAt: now });
      await this.objects.delete(this.sessionKey(id));
      await this.objects.delete(this.userIndexKey(email, id));
    }
    this.metrics.sessions.inc({ event: 'revoked' }, ids.size);
    return ids.size;
  }

  /** Removes from `ids` the sessions created at or after `since` (a session already gone stays listed, to be cleaned). */
  private async excludeCreatedSince(ids: Set<string>, since: number): Promise<void> {
    for (const id of [...ids]) {
      const known = this.memory.get(id)?.session;
      const stored = known ? undefined : await this.objects.get(this.sessionKey(id));
      const session = known ?? (stored ? fromSessionDocument(id, stored.value) : undefined);
      if (session && session.createdAt.getTime() >= since) ids.delete(id);
    }
  }

  private async load(sessionId: string, known: Session | undefined): Promise<Session | undefined> {
    const stored = await this.objects.get(this.sessionKey(sessionId));
    let session = stored ? fromSessionDocument(sessionId, stored.value) : undefined;
    if (session && known && session.email !== known.email) {
      // The binding never changes; a stored object that says otherwise was tampered with. Refuse it.
      this.metrics.securityViolations.inc({ reason: 'session_rebind' });
      this.logger.error({ msg: 'SECURITY VIOLATION', event: 'security_violation', reason: 'session_rebind', sessionOwner: known.email, storedEmail: session.email });
      session = undefined;
    }
    this.memory.set(sessionId, { session: session ?? undefined, checkedAt: Date.now() });
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

function live(session: Session | undefined, now: number): Session | undefined {
  return session && session.expiresAt.getTime() > now ? session : undefined;
}
