import { Injectable } from '@nestjs/common';
import { SingleFlight } from '../common/single-flight.js';
import { AuditLog } from '../observability/audit-log.js';
import { Metrics } from '../observability/metrics.js';
import { AccessTokenHistory } from './access-token-history.js';
import { CredentialsRepository } from './credentials.repository.js';
import { CredentialsBusyError, isGrantRevoked, ReauthRequiredError } from './credentials.errors.js';
import { CurrentGrant } from './current-grant.js';
import { DeadGrantGrace } from './dead-grant-grace.js';
import type { GoogleCredentials } from './google-credentials.js';
import { GoogleTokenClient, RefreshedToken } from './google-token.client.js';
import { KnownCredentials } from './known-credentials.js';
import { RefreshedGrantWriter } from './refreshed-grant-writer.js';
import { RefreshWriteBack } from './refresh-write-back.js';

/** A refresh reads S3 and asks Google at most this many times before telling the caller to retry. */
const MAX_ROUNDS = 5;

/**
 * Refreshes a user's Google access token, one refresh per user at a time, starting from what S3 holds (another
 * replica may have refreshed already). Google's `invalid_grant` is believed only after S3 was re-read and still holds
 * the refused token (another replica may have rotated it, or the user signed in again), and then only the version
 * holding it is deleted.
 */
@Injectable()
export class GrantRefresh {
  private readonly refreshing = new SingleFlight<GoogleCredentials>();

  constructor(
    private readonly grants: CurrentGrant,
    private readonly grace: DeadGrantGrace,
    private readonly known: KnownCredentials,
    private readonly tokens: AccessTokenHistory,
    private readonly writer: RefreshedGrantWriter,
    private readonly writeBack: RefreshWriteBack,
    private readonly repository: CredentialsRepository,
    private readonly google: GoogleTokenClient,
    private readonly audit: AuditLog,
    private readonly metrics: Metrics,
  ) {}

  /** Credentials with a usable access token: another replica's from S3, or a new one from Google. */
  refresh(email: string): Promise<GoogleCredentials> {
    return this.refreshing.run(email, () => this.writeBack.follow(this.refreshFromS3(email)));
  }

  /**
   * One refresh at Google even while the stored access token is still good: whether Google still honours the stored
   * refresh token (a sign-in that brought none keeps it). The same path as any refresh, so a refused token is believed
   * only after the grace, and a rotated one is written as any other; ReauthRequiredError when the grant is dead.
   */
  async check(email: string): Promise<GoogleCredentials> {
    // A refresh under way may be answered from S3 without asking Google, which proves nothing: let it finish first.
    if (this.refreshing.has(email)) await this.refresh(email).catch(() => undefined);
    return this.refreshing.run(email, () => this.writeBack.follow(this.refreshFromS3(email, true)));
  }

  private async refreshFromS3(email: string, askGoogle = false): Promise<GoogleCredentials> {
    const startedAt = new Date();
    const refused = new Set<string>();
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      // Re-read S3 first: another replica may have refreshed already, and its token is as good as a new one.
      const grant = await this.grants.read(email, refused);
      if (!grant) {
        this.known.forget(email);
        throw new ReauthRequiredError('No Google credentials are stored for this user.', startedAt);
      }
      const { credentials, continues } = grant;
      // A check takes a stored access token only with a refresh token other than one Google refused here: written
      // since (a rotated successor, a new sign-in), so Google has just issued it.
      const refreshToken = credentials.refreshToken;
      const answered = !askGoogle || (refused.size > 0 && refreshToken !== undefined && !refused.has(refreshToken));
      if (answered && this.tokens.usable(credentials)) {
        this.known.remember(credentials);
        return credentials;
      }
      if (!refreshToken) throw new ReauthRequiredError('The Google access token expired and no refresh token is stored.', startedAt);
      if (refused.has(refreshToken)) {
        if (await this.grace.successorArrives(email, refused)) continue;
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
      return this.writer.write({ email, from: credentials, continues: [...continues, refreshToken], refreshed, startedAt });
    }
    throw new CredentialsBusyError();
  }

  private grantDead(email: string, startedAt: Date): never {
    this.known.forget(email);
    this.metrics.tokenRefreshes.inc({ outcome: 'reauth_required' });
    this.audit.record({ event: 'reauth_required', outcome: 'failure', user: email, detail: { reason: 'invalid_grant', credentialsDeleted: true } });
    throw new ReauthRequiredError("Google no longer accepts this user's grant (revoked or expired).", startedAt);
  }
}
