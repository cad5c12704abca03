import { Injectable } from '@nestjs/common';
import { AccessTokenHistory } from './access-token-history.js';
import { CredentialsRepository, type VersionedCredentials } from './credentials.repository.js';
import { isGrantRevoked } from './credentials.errors.js';
import { CredentialsPatch, GoogleCredentials } from './google-credentials.js';
import { GrantRefresh } from './grant-refresh.js';
import { KnownCredentials } from './known-credentials.js';
import { RefreshedGrantWriter } from './refreshed-grant-writer.js';
import { RefreshWriteBack } from './refresh-write-back.js';
import { rotatedTo } from './rotation.js';

/**
 * A user's Google credentials, as the other modules use them: load (memory, then S3; KnownCredentials), save on
 * sign-in, refresh (GrantRefresh: single-flight per user, written back to S3 atomically by RefreshedGrantWriter,
 * refresh token preserved), delete on revocation. Every method takes a verified email.
 */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly repository: CredentialsRepository,
    private readonly known: KnownCredentials,
    private readonly grantRefresh: GrantRefresh,
    private readonly writer: RefreshedGrantWriter,
    private readonly writeBack: RefreshWriteBack,
    private readonly tokens: AccessTokenHistory,
  ) {}

  /** Stored credentials straight from S3 (sign-in decides on `prompt=consent` with it). */
  async findStored(email: string): Promise<GoogleCredentials | undefined> {
    return this.repository.findByEmail(email);
  }

  /**
   * The user's credentials as this replica holds them (memory, else S3 once, then remembered), without refreshing;
   * undefined when none are stored. For describing a session: the warm path makes no S3 call.
   */
  async findKnown(email: string): Promise<GoogleCredentials | undefined> {
    return this.known.find(email);
  }

  /**
   * Asks Google once whether it still honours the stored refresh token (GrantRefresh.check): `alive` when Google
   * refreshed it (written as any refresh, rotated or not), `dead` when the grant is gone (Google refused it and S3
   * still held it after the grace: the credentials were deleted; or nothing refreshable is stored any more). Google or
   * S3 failing is thrown as it is (GoogleUnavailableError, StorageError, CredentialsBusyError): nothing was changed.
   */
  async checkStoredGrant(email: string): Promise<'alive' | 'dead'> {
    try {
      await this.grantRefresh.check(email);
      return 'alive';
    } catch (err) {
      if (isGrantRevoked(err)) return 'dead';
      throw err;
    }
  }

  /** Stores what a sign-in brought, merged into what is stored, and warms the cache. */
  async saveSignIn(email: string, patch: CredentialsPatch): Promise<GoogleCredentials> {
    const saved = await this.repository.save(email, patch);
    // A new refresh token starts a new grant: an older unwritten refresh must not overwrite it.
    if (patch.refreshToken) this.writeBack.cancel(email);
    this.known.remember(saved);
    return saved;
  }

  /** Credentials with an access token that is not about to expire, refreshing when needed. */
  async getValid(email: string): Promise<GoogleCredentials> {
    const current = this.known.cached(email) ?? (await this.known.loadRequired(email));
    return this.tokens.usable(current) ? current : this.grantRefresh.refresh(email);
  }

  /**
   * Like getValid, but from S3 rather than this replica's copy: a sign-in on another replica may have added scopes
   * since it was cached (up to CACHE_TTL_MS). For a call whose scope the copy lacks, before it is answered 403.
   */
  async getValidFromS3(email: string): Promise<GoogleCredentials> {
    const current = await this.known.loadRequired(email);
    return this.tokens.usable(current) ? current : this.grantRefresh.refresh(email);
  }

  /**
   * Called after Google rejected `rejectedToken` at an API: refreshes once, however many callers report the same
   * token. A token another replica stored is taken only if Google has not rejected it here already, so reporting
   * that one too leads to a real refresh.
   */
  async refreshRejected(email: string, rejectedToken: string | undefined): Promise<GoogleCredentials> {
    if (rejectedToken) this.tokens.reject(rejectedToken);
    const current = this.known.cached(email);
    if (current && this.tokens.usable(current)) return current;
    return this.grantRefresh.refresh(email);
  }

  /** True when this replica got `accessToken` from Google's token endpoint itself (not from S3 or a sign-in). */
  refreshedHere(accessToken: string | undefined): boolean {
    return this.tokens.refreshedHere(accessToken);
  }

  /**
   * The refresh token this replica rotated to from `refreshToken` and S3 has not taken yet (RefreshWriteBack), if
   * any: while S3 holds the dead ancestor, it is the grant's only live token, and a revocation must send it to Google.
   */
  unwrittenSuccessor(email: string, refreshToken: string): string | undefined {
    const unwritten = this.writeBack.get(email);
    return unwritten?.continues.includes(refreshToken) ? rotatedTo(unwritten.credentials.refreshToken, unwritten.continues) : undefined;
  }

  /** Stored credentials straight from S3 with the version read (revocation deletes exactly that version). */
  async findStoredVersion(email: string): Promise<VersionedCredentials | undefined> {
    return this.repository.findVersioned(email);
  }

  /**
   * Revocation (after Google confirmed): deletes the user's credentials, every cache and any unwritten refresh; a
   * refresh already under way here will not write them back. With `version`, only that version is deleted, or a
   * newer one `version.same` recognises as the same grant (see CredentialsRepository.deleteVersion), and another
   * grant found instead is kept and returned; without, whatever is stored.
   */
  async deleteForRevocation(email: string, version?: { etag: string; same: (current: GoogleCredentials) => boolean }): Promise<VersionedCredentials | undefined> {
    this.writer.revoking(email);
    this.known.forget(email);
    if (version) return this.repository.deleteVersion(email, version.etag, version.same);
    await this.repository.delete(email);
    return undefined;
  }
}
