import { Injectable } from '@nestjs/common';
import { growingLru } from '../common/growing-lru.js';
import { AuditLog } from '../observability/audit-log.js';
import { Metrics } from '../observability/metrics.js';
import { StorageError } from '../storage/storage.errors.js';
import { AccessTokenHistory } from './access-token-history.js';
import { CredentialsRepository } from './credentials.repository.js';
import { ReauthRequiredError } from './credentials.errors.js';
import { CredentialsPatch, GoogleCredentials, mergeCredentials } from './google-credentials.js';
import type { RefreshedToken } from './google-token.client.js';
import { KnownCredentials } from './known-credentials.js';
import { RefreshWriteBack } from './refresh-write-back.js';
import { RevocationFence } from './revocation-fence.js';
import { rotatedTo } from './rotation.js';

/** A refresh Google has answered, as it is written: the grant it came from and what it continues. */
export interface AnsweredRefresh {
  email: string;
  from: GoogleCredentials;
  continues: string[];
  refreshed: RefreshedToken;
  startedAt: Date;
}

/**
 * Writes what Google answered a refresh into S3 and this replica's copy. A refresh token is never lost: one that S3
 * would not take stays in memory and is written again (RefreshWriteBack). A refresh never undoes a revocation: not
 * one made here while it ran, nor (with rotation) one another replica started (RevocationFence).
 */
@Injectable()
export class RefreshedGrantWriter {
  /** When each user was last revoked here: a refresh that started earlier must not re-create them. */
  private readonly revokedAt = growingLru<string, number>({ max: 10_000, ttl: 3600_000 });

  constructor(
    private readonly repository: CredentialsRepository,
    private readonly known: KnownCredentials,
    private readonly tokens: AccessTokenHistory,
    private readonly writeBack: RefreshWriteBack,
    private readonly fence: RevocationFence,
    private readonly audit: AuditLog,
    private readonly metrics: Metrics,
  ) {}

  /** Notes that the user is being revoked here now: refreshes under way will not write their credentials back. */
  revoking(email: string): void {
    this.revokedAt.set(email, Date.now());
  }

  /** Writes a refresh to S3; if S3 fails, keeps it in memory and writes it again in the background. */
  async write({ email, from, continues, refreshed, startedAt }: AnsweredRefresh): Promise<GoogleCredentials> {
    this.metrics.tokenRefreshes.inc({ outcome: 'success' });
    this.audit.record({ event: 'token_refresh', outcome: 'success', user: email });
    const fresh = mergeCredentials(from, email, { token: refreshed.accessToken, expiry: refreshed.expiresAt, scopes: refreshed.scopes, refreshToken: refreshed.refreshToken });
    // The refresh token to store is the one in use, also when Google kept it: S3 may hold a dead ancestor (this
    // replica's rotated successor not written yet) or none, and a patch without it would keep that one.
    const patch: CredentialsPatch = { token: fresh.token, expiry: fresh.expiry, scopes: refreshed.scopes, refreshToken: fresh.refreshToken };
    this.tokens.refreshedNow(refreshed.accessToken);
    // Revoked here while this refresh ran: the credentials stay deleted.
    const mayRecreate = (this.revokedAt.get(email) ?? 0) < startedAt.getTime();
    const successor = rotatedTo(refreshed.refreshToken, continues);
    // Whether a read of this write found the object deleted: carried into the background retries, which may find
    // the object this write re-created before its answer was lost.
    const missing = { seen: false };
    try {
      // Only a rotation brings a secret worth re-creating a deleted object for: without one, S3 lost nothing that
      // works (a revocation or a confirmed invalid_grant deleted it), and re-creating would undo a revocation.
      const recreateFrom = mayRecreate && successor ? fresh : undefined;
      const result = await this.writeBack.followWrite(this.repository.saveRefreshed(email, patch, continues, { recreateFrom, replacing: from.token, missing }));
      this.writeBack.cancel(email);
      if (result.outcome === 'superseded') {
        if (!result.stored) throw new ReauthRequiredError("This user's Google credentials were removed (revoked) while they were being refreshed.");
        return this.newerGrant(email, result.stored, fresh);
      }
      if (result.outcome === 'written' && successor && (await this.writeBack.followWrite(this.fence.revokedMeanwhile({ email, successor, continues, recreated: result.recreated, refreshStartedAt: startedAt.getTime(), grantStoredAt: from.updatedAt?.getTime() })))) {
        this.known.forget(email);
        throw new ReauthRequiredError("This user's Google access was revoked while it was being refreshed.");
      }
      this.known.remember(result.credentials);
      return result.credentials;
    } catch (err) {
      if (!(err instanceof StorageError) || !mayRecreate) throw err;
      // Google has answered; with rotation the token S3 holds is dead now. Keep the new one, write it later.
      this.writeBack.schedule(email, fresh, continues, startedAt, from.token, missing);
      this.known.remember(fresh);
      return fresh;
    }
  }

  /**
   * A sign-in stored a new grant (another refresh token) while this refresh ran; it serves from here on. Caching the
   * old grant's refresh instead kept its older scopes here for CACHE_TTL_MS: 403 insufficient_scope for a scope the
   * new grant added. If the new grant's token cannot serve, this call uses the fresh one and the next reads S3.
   */
  private newerGrant(email: string, stored: GoogleCredentials, fresh: GoogleCredentials): GoogleCredentials {
    if (this.tokens.usable(stored)) {
      this.known.remember(stored);
      return stored;
    }
    this.known.dropCopy(email);
    return fresh;
  }
}
