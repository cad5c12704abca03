import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AppConfig } from '../config/app-config.js';
import { AuditLog } from '../observability/audit-log.js';
import { Metrics } from '../observability/metrics.js';
import { CredentialsRepository } from './credentials.repository.js';
import { isGrantRevoked, ReauthRequiredError } from './credentials.errors.js';
import { GoogleClientCache } from './google-client.cache.js';
import type { CredentialsPatch, GoogleCredentials } from './google-credentials.js';
import { GoogleTokenClient } from './google-token.client.js';

/** Refresh this long before Google's expiry so a token never dies in flight. */
const EXPIRY_SKEW_MS = 60_000;
/** Credentials stay in memory this long; S3 stays the source of truth across replicas. */
const CACHE_TTL_MS = 5 * 60_000;

/**
 * A user's Google credentials: load (memory, then S3), save on sign-in, refresh (single-flight per user,
 * written back to S3 atomically, refresh token preserved), forget. Every method takes a verified email.
 */
@Injectable()
export class CredentialsService {
  private readonly cache: LRUCache<string, GoogleCredentials>;
  private readonly refreshing = new Map<string, Promise<GoogleCredentials>>();

  constructor(
    private readonly repository: CredentialsRepository,
    private readonly google: GoogleTokenClient,
    private readonly clients: GoogleClientCache,
    private readonly audit: AuditLog,
    private readonly metrics: Metrics,
    config: AppConfig,
  ) {
    this.cache = new LRUCache({ max: config.values.google.clientCacheMax, ttl: CACHE_TTL_MS });
  }

  /** Stored credentials straight from S3 (sign-in decides on `prompt=consent` with it). */
  async findStored(email: string): Promise<GoogleCredentials | undefined> {
    return this.repository.findByEmail(email);
  }

  /** Stores what a sign-in brought, merged into what is stored, and warms the cache. */
  async saveSignIn(email: string, patch: CredentialsPatch): Promise<GoogleCredentials> {
    const saved = await this.repository.save(email, patch);
    this.remember(saved);
    return saved;
  }

  /** Credentials with an access token that is not about to expire, refreshing when needed. */
  async getValid(email: string): Promise<GoogleCredentials> {
    const current = this.cache.get(email) ?? (await this.loadOrThrow(email));
    return isFresh(current) ? current : this.refresh(email, current.token);
  }

  /** Called after Google rejected `rejectedToken`: refreshes once, however many callers report the same token. */
  async refreshRejected(email: string, rejectedToken: string | undefined): Promise<GoogleCredentials> {
    const current = this.cache.get(email);
    if (current && current.token !== rejectedToken && isFresh(current)) return current;
    return this.refresh(email, rejectedToken);
  }

  /** Deletes the user's credentials from S3 and every cache. */
  async forget(email: string): Promise<void> {
    this.cache.delete(email);
    this.clients.drop(email);
    await this.repository.delete(email);
  }

  private async loadOrThrow(email: string): Promise<GoogleCredentials> {
    const stored = await this.repository.findByEmail(email);
    if (!stored) throw new ReauthRequiredError('No Google credentials are stored for this user.');
    this.remember(stored);
    return stored;
  }

  private refresh(email: string, staleToken: string | undefined): Promise<GoogleCredentials> {
    const running = this.refreshing.get(email);
    if (running) return running;
    const flight = this.refreshFromS3(email, staleToken).finally(() => this.refreshing.delete(email));
    this.refreshing.set(email, flight);
    return flight;
  }

  private async refreshFromS3(email: string, staleToken: string | undefined): Promise<GoogleCredentials> {
    // Re-read S3 first: another replica may have refreshed already, and its token is as good as a new one.
    const stored = await this.repository.findByEmail(email);
    if (!stored) {
      this.cache.delete(email);
      throw new ReauthRequiredError('No Google credentials are stored for this user.');
    }
    if (stored.token && stored.token !== staleToken && isFresh(stored)) {
      this.remember(stored);
      return stored;
    }
    if (!stored.refreshToken) {
      throw new ReauthRequiredError('The Google access token expired and no refresh token is stored.');
    }
    try {
      const refreshed = await this.google.refresh(stored.refreshToken);
      const saved = await this.repository.save(email, {
        token: refreshed.accessToken,
        expiry: refreshed.expiresAt,
        scopes: refreshed.scopes,
        refreshToken: refreshed.refreshToken,
      });
      this.remember(saved);
      this.metrics.tokenRefreshes.inc({ outcome: 'success' });
      this.audit.record({ event: 'token_refresh', outcome: 'success', user: email });
      return saved;
    } catch (err) {
      if (isGrantRevoked(err)) {
        this.metrics.tokenRefreshes.inc({ outcome: 'reauth_required' });
        this.audit.record({ event: 'reauth_required', outcome: 'failure', user: email, detail: { reason: 'invalid_grant', credentialsDeleted: true } });
        await this.forget(email);
      } else {
        this.metrics.tokenRefreshes.inc({ outcome: 'error' });
        this.audit.record({ event: 'token_refresh', outcome: 'failure', user: email, detail: { reason: (err as Error).message } });
      }
      throw err;
    }
  }

  private remember(credentials: GoogleCredentials): void {
    this.cache.set(credentials.email, credentials);
    this.clients.updateToken(credentials);
  }

  /** Revocation (after Google confirmed): deletes the user's credentials unconditionally, and every cache. */
  async deleteForRevocation(email: string): Promise<void> {
    this.cache.delete(email);
    this.clients.drop(email);
    await this.repository.delete(email);
  }
}

function isFresh(c: GoogleCredentials): boolean {
  return Boolean(c.token && c.expiry && c.expiry.getTime() - Date.now() > EXPIRY_SKEW_MS);
}
