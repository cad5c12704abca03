import { Injectable } from '@nestjs/common';
import type { LRUCache } from 'lru-cache';
import { growingLru } from '../common/growing-lru.js';
import { AppConfig } from '../config/app-config.js';
import { AuditLog } from '../observability/audit-log.js';
import { Metrics } from '../observability/metrics.js';
import { StorageError } from '../storage/storage.errors.js';
import { CredentialsRepository, type VersionedCredentials } from './credentials.repository.js';
import { CredentialsBusyError, isGrantRevoked, ReauthRequiredError } from './credentials.errors.js';
import { GoogleClientCache } from './google-client.cache.js';
import { CredentialsPatch, GoogleCredentials, mergeCredentials } from './google-credentials.js';
import { GoogleTokenClient, RefreshedToken } from './google-token.client.js';
import { unexpired } from './refresh-merge.js';
import { RefreshWriteBack } from './refresh-write-back.js';
import { RevocationFence } from './revocation-fence.js';
import { rotatedTo } from './rotation.js';
import { SingleFlight } from '../common/single-flight.js';

/** Credentials stay in memory this long; S3 stays the source of truth across replicas. */
const CACHE_TTL_MS = 5 * 60_000;
/** A refresh reads S3 and asks Google at most this many times before telling the caller to retry. */
const MAX_ROUNDS = 5;
/** While S3 still holds a refresh token Google refused, it is re-read this often during the grace period. */
const GRACE_POLL_MS = 250;

/** The grant a refresh works from. */
interface Grant {
  credentials: GoogleCredentials;
  /** Refresh tokens this grant continues: a write of its successor may replace any of them in S3. */
  continues: string[];
}

/**
 * A user's Google credentials: load (memory, then S3), save on sign-in, refresh (single-flight per user, written
 * back to S3 atomically, refresh token preserved), delete on revocation. Every method takes a verified email.
 *
 * A refresh token is never lost: a refreshed one that S3 would not take stays in memory and is written again
 * (RefreshWriteBack); Google's `invalid_grant` is believed only after S3 was re-read and still holds the refused
 * token (another replica may have rotated it, or the user signed in again), and then only the version holding it
 * is deleted.
 */
@Injectable()
export class CredentialsService {
  private readonly cache: LRUCache<string, GoogleCredentials>;
  /** One refresh per user at a time. */
  private readonly refreshing = new SingleFlight<GoogleCredentials>();
  /** Cold-cache reads: a user's concurrent first requests share one S3 read. */
  private readonly loading = new SingleFlight<GoogleCredentials | undefined>();
  /** Access tokens Google refused at an API call: never taken again from memory or S3 as if they were good. */
  private readonly rejected = growingLru<string, true>({ max: 10_000, ttl: 3600_000 });
  /** Access tokens this replica got from Google's token endpoint (see refreshedHere). */
  private readonly refreshedTokens = growingLru<string, true>({ max: 10_000, ttl: 3600_000 });
  /** When each user was last revoked here: a refresh that started earlier must not re-create them. */
  private readonly revokedAt = growingLru<string, number>({ max: 10_000, ttl: 3600_000 });
  private readonly deadGrantGraceMs: number;

  constructor(
    private readonly repository: CredentialsRepository,
    private readonly google: GoogleTokenClient,
    private readonly clients: GoogleClientCache,
    private readonly writeBack: RefreshWriteBack,
    private readonly fence: RevocationFence,
    private readonly audit: AuditLog,
    private readonly metrics: Metrics,
    config: AppConfig,
  ) {
    this.cache = growingLru({ max: config.values.google.clientCacheMax, ttl: CACHE_TTL_MS });
    // A replica that won a rotation race needs Google's answer plus one S3 write to store the new token; a refused
    // token is believed dead only if S3 still holds it after that. The window covers that write timing out once
    // (S3_TIMEOUT_MS) and its first background retry timing out too (S3_TIMEOUT_MS more, after at most 250 ms of
    // backoff), plus the next retry's backoff and write: with S3 failing one call in twenty (the soak), one timeout
    // of S3_TIMEOUT_MS + 1 s let two faults in a row end every session of a user whose grant was alive.
    this.deadGrantGraceMs = 2 * config.values.s3.timeoutMs + 2000;
  }

  /** Stored credentials straight from S3 (sign-in decides on `prompt=consent` with it). */
  async findStored(email: string): Promise<GoogleCredentials | undefined> {
    return this.repository.findByEmail(email);
  }

  /**
   * The user's credentials as this replica holds them (memory, else S3 once, then remembered), without refreshing;
   * undefined when none are stored. For describing a session: the warm path makes no S3 call.
   */
  async findKnown(email: string): Promise<GoogleCredentials | undefined> {
    return this.cache.get(email) ?? this.load(email);
  }

  /** Stores what a sign-in brought, merged into what is stored, and warms the cache. */
  async saveSignIn(email: string, patch: CredentialsPatch): Promise<GoogleCredentials> {
    const saved = await this.repository.save(email, patch);
    // A new refresh token starts a new grant: an older unwritten refresh must not overwrite it.
    if (patch.refreshToken) this.writeBack.cancel(email);
    this.remember(saved);
    return saved;
  }

  /** Credentials with an access token that is not about to expire, refreshing when needed. */
  async getValid(email: string): Promise<GoogleCredentials> {
    const current = this.cache.get(email) ?? (await this.loadOrThrow(email));
    return this.usable(current) ? current : this.refresh(email);
  }

  /**
   * Like getValid, but from S3 rather than this replica's copy: a sign-in on another replica may have added scopes
   * since it was cached (up to CACHE_TTL_MS). For a call whose scope the copy lacks, before it is answered 403.
   */
  async getValidFromS3(email: string): Promise<GoogleCredentials> {
    const current = await this.loadOrThrow(email);
    return this.usable(current) ? current : this.refresh(email);
  }

  /**
   * Called after Google rejected `rejectedToken` at an API: refreshes once, however many callers report the same
   * token. A token another replica stored is taken only if Google has not rejected it here already, so reporting
   * that one too leads to a real refresh.
   */
  async refreshRejected(email: string, rejectedToken: string | undefined): Promise<GoogleCredentials> {
    if (rejectedToken) this.rejected.set(rejectedToken, true);
    const current = this.cache.get(email);
    if (current && this.usable(current)) return current;
    return this.refresh(email);
  }

  /** True when this replica got `accessToken` from Google's token endpoint itself (not from S3 or a sign-in). */
  refreshedHere(accessToken: string | undefined): boolean {
    return Boolean(accessToken && this.refreshedTokens.has(accessToken));
  }

  /** Stored credentials straight from S3 with the version read (revocation deletes exactly that version). */
  async findStoredVersion(email: string): Promise<VersionedCredentials | undefined> {
    return this.repository.findVersioned(email);
  }

  /**
   * Revocation (after Google confirmed): deletes the user's credentials, every cache and any unwritten refresh; a
   * refresh already under way here will not write them back. With `version`, only that version is deleted, or a
   * newer one `version.same` recognises as the same grant (see CredentialsRepository.deleteVersion); without,
   * whatever is stored.
   */
  async deleteForRevocation(email: string, version?: { etag: string; same: (current: GoogleCredentials) => boolean }): Promise<void> {
    this.revokedAt.set(email, Date.now());
    this.dropLocal(email);
    if (version) await this.repository.deleteVersion(email, version.etag, version.same);
    else await this.repository.delete(email);
  }

  private async loadOrThrow(email: string): Promise<GoogleCredentials> {
    const startedAt = new Date();
    const credentials = await this.load(email);
    if (!credentials) throw new ReauthRequiredError('No Google credentials are stored for this user.', startedAt);
    return credentials;
  }

  /**
   * Reads the user's grant from S3 into the cache, once at a time per user: a replica starting cold (or a user
   * whose cache entry expired) would otherwise read S3 once per concurrent request (up to one per connection).
   */
  private load(email: string): Promise<GoogleCredentials | undefined> {
    return this.loading.run(email, async () => {
      const grant = await this.readGrant(email, new Set());
      if (grant) this.remember(grant.credentials);
      return grant?.credentials;
    });
  }

  private refresh(email: string): Promise<GoogleCredentials> {
    return this.refreshing.run(email, () => this.writeBack.follow(this.refreshFromS3(email)));
  }

  private async refreshFromS3(email: string): Promise<GoogleCredentials> {
    const startedAt = new Date();
    const refused = new Set<string>();
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      // Re-read S3 first: another replica may have refreshed already, and its token is as good as a new one.
      const grant = await this.readGrant(email, refused);
      if (!grant) {
        this.dropLocal(email);
        throw new ReauthRequiredError('No Google credentials are stored for this user.', startedAt);
      }
      const { credentials, continues } = grant;
      if (this.usable(credentials)) {
        this.remember(credentials);
        return credentials;
      }
      const refreshToken = credentials.refreshToken;
      if (!refreshToken) throw new ReauthRequiredError('The Google access token expired and no refresh token is stored.', startedAt);
      if (refused.has(refreshToken)) {
        if (await this.changesWithinGrace(email, refused)) continue;
        const deleted = await this.repository.deleteIfRefreshTokenIs(email, refreshToken);
        if (deleted.outcome === 'changed') continue;
        this.grantDead(email, startedAt);
      }
      let refreshed: RefreshedToken;
      try {
        refreshed = await this.google.refresh(refreshToken);
      } catch (err) {
        if (!isGrantRevoked(err)) {
          this.metrics.tokenRefreshes.inc({ outcome: 'error' });
          this.audit.record({ event: 'token_refresh', outcome: 'failure', user: email, detail: { reason: (err as Error).message } });
          throw err;
        }
        refused.add(refreshToken); // the next round re-reads S3 before believing it
        continue;
      }
      return this.store(email, credentials, [...continues, refreshToken], refreshed, startedAt);
    }
    throw new CredentialsBusyError();
  }

  /**
   * What to refresh from: this replica's unwritten refresh while it continues what S3 holds (S3 is behind), else
   * what S3 holds. Refresh tokens Google refused in this flight are skipped in favour of the other.
   */
  private async readGrant(email: string, refused: ReadonlySet<string>): Promise<Grant | undefined> {
    const stored = await this.repository.findByEmail(email);
    const unwritten = this.writeBack.get(email);
    if (unwritten) {
      const mine = unwritten.credentials.refreshToken;
      const storedRt = stored?.refreshToken;
      if (storedRt && storedRt === mine) {
        this.writeBack.cancel(email); // it landed (an answer lost after S3 applied the write, or another path)
      } else if (storedRt && !unwritten.continues.includes(storedRt)) {
        this.writeBack.cancel(email); // a newer sign-in replaced the grant
      } else if (!(mine && refused.has(mine))) {
        return { credentials: unwritten.credentials, continues: unwritten.continues };
      }
    }
    return stored ? { credentials: stored, continues: [] } : undefined;
  }

  /**
   * S3 still holds a refresh token Google refused. A replica that won a rotation race may be storing its
   * successor right now: S3 is re-read for a while, and true is returned as soon as it holds another token.
   */
  private async changesWithinGrace(email: string, refused: ReadonlySet<string>): Promise<boolean> {
    const until = Date.now() + this.deadGrantGraceMs;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, GRACE_POLL_MS));
      const grant = await this.readGrant(email, refused).catch(() => undefined);
      const rt = grant?.credentials.refreshToken;
      if (rt && !refused.has(rt)) return true;
    }
    return false;
  }

  /** Writes a refresh to S3; if S3 fails, keeps it in memory and writes it again in the background. */
  private async store(email: string, from: GoogleCredentials, continues: string[], refreshed: RefreshedToken, startedAt: Date): Promise<GoogleCredentials> {
    this.metrics.tokenRefreshes.inc({ outcome: 'success' });
    this.audit.record({ event: 'token_refresh', outcome: 'success', user: email });
    const fresh = mergeCredentials(from, email, { token: refreshed.accessToken, expiry: refreshed.expiresAt, scopes: refreshed.scopes, refreshToken: refreshed.refreshToken });
    // The refresh token to store is the one in use, also when Google kept it: S3 may hold a dead ancestor (this
    // replica's rotated successor not written yet) or none, and a patch without it would keep that one.
    const patch: CredentialsPatch = { token: fresh.token, expiry: fresh.expiry, scopes: refreshed.scopes, refreshToken: fresh.refreshToken };
    this.refreshedTokens.set(refreshed.accessToken, true);
    // Revoked here while this refresh ran: the credentials stay deleted.
    const mayRecreate = (this.revokedAt.get(email) ?? 0) < startedAt.getTime();
    const successor = rotatedTo(refreshed.refreshToken, continues);
    try {
      // Only a rotation brings a secret worth re-creating a deleted object for: without one, S3 lost nothing that
      // works (a revocation or a confirmed invalid_grant deleted it), and re-creating would undo a revocation.
      const recreateFrom = mayRecreate && successor ? fresh : undefined;
      const result = await this.writeBack.followWrite(this.repository.saveRefreshed(email, patch, continues, { recreateFrom, replacing: from.token }));
      this.writeBack.cancel(email);
      if (result.outcome === 'superseded') {
        if (!result.stored) throw new ReauthRequiredError("This user's Google credentials were removed (revoked) while they were being refreshed.");
        return this.newerGrant(email, result.stored, fresh);
      }
      if (result.outcome === 'written' && successor && (await this.writeBack.followWrite(this.fence.revokedMeanwhile({ email, successor, continues, recreated: result.recreated, refreshStartedAt: startedAt.getTime() })))) {
        this.dropLocal(email);
        throw new ReauthRequiredError("This user's Google access was revoked while it was being refreshed.");
      }
      this.remember(result.credentials);
      return result.credentials;
    } catch (err) {
      if (!(err instanceof StorageError) || !mayRecreate) throw err;
      // Google has answered; with rotation the token S3 holds is dead now. Keep the new one, write it later.
      this.writeBack.schedule(email, fresh, continues, startedAt, from.token);
      this.remember(fresh);
      return fresh;
    }
  }

  /**
   * A sign-in stored a new grant (another refresh token) while this refresh ran; it serves from here on. Caching the
   * old grant's refresh instead kept its older scopes here for CACHE_TTL_MS: 403 insufficient_scope for a scope the
   * new grant added. If the new grant's token cannot serve, this call uses the fresh one and the next reads S3.
   */
  private newerGrant(email: string, stored: GoogleCredentials, fresh: GoogleCredentials): GoogleCredentials {
    if (this.usable(stored)) {
      this.remember(stored);
      return stored;
    }
    this.cache.delete(email);
    return fresh;
  }

  private grantDead(email: string, startedAt: Date): never {
    this.dropLocal(email);
    this.metrics.tokenRefreshes.inc({ outcome: 'reauth_required' });
    this.audit.record({ event: 'reauth_required', outcome: 'failure', user: email, detail: { reason: 'invalid_grant', credentialsDeleted: true } });
    throw new ReauthRequiredError("Google no longer accepts this user's grant (revoked or expired).", startedAt);
  }

  private dropLocal(email: string): void {
    this.cache.delete(email);
    this.clients.drop(email);
    this.writeBack.cancel(email);
  }

  private usable(c: GoogleCredentials): boolean {
    return unexpired(c) && !this.rejected.has(c.token as string);
  }

  private remember(credentials: GoogleCredentials): void {
    this.cache.set(credentials.email, credentials);
    this.clients.updateToken(credentials);
  }
}
