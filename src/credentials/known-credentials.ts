import { Injectable } from '@nestjs/common';
import type { LRUCache } from 'lru-cache';
import { growingLru } from '../common/growing-lru.js';
import { SingleFlight } from '../common/single-flight.js';
import { AppConfig } from '../config/app-config.js';
import { ReauthRequiredError } from './credentials.errors.js';
import { CurrentGrant } from './current-grant.js';
import { GoogleClientCache } from './google-client.cache.js';
import type { GoogleCredentials } from './google-credentials.js';
import { RefreshWriteBack } from './refresh-write-back.js';

/** Credentials stay in memory this long; S3 stays the source of truth across replicas. */
export const CACHE_TTL_MS = 5 * 60_000;

/**
 * This replica's copy of users' credentials: read from S3 once (however many requests ask at a time), kept for
 * CACHE_TTL_MS, and handed to the Google client cache whenever it changes.
 */
@Injectable()
export class KnownCredentials {
  private readonly cache: LRUCache<string, GoogleCredentials>;
  /** Cold-cache reads: a user's concurrent first requests share one S3 read. */
  private readonly loading = new SingleFlight<GoogleCredentials | undefined>();

  constructor(
    private readonly grants: CurrentGrant,
    private readonly clients: GoogleClientCache,
    private readonly writeBack: RefreshWriteBack,
    config: AppConfig,
  ) {
    this.cache = growingLru({ max: config.values.google.clientCacheMax, ttl: CACHE_TTL_MS });
  }

  /** The copy in memory, if any (no S3 call). */
  cached(email: string): GoogleCredentials | undefined {
    return this.cache.get(email);
  }

  /** The copy in memory, else the grant read from S3 (then remembered); undefined when none is stored. */
  async find(email: string): Promise<GoogleCredentials | undefined> {
    return this.cache.get(email) ?? this.load(email);
  }

  /**
   * Reads the user's grant from S3 into the cache, once at a time per user: a replica starting cold (or a user
   * whose cache entry expired) would otherwise read S3 once per concurrent request (up to one per connection).
   */
  load(email: string): Promise<GoogleCredentials | undefined> {
    return this.loading.run(email, async () => {
      const grant = await this.grants.read(email, new Set());
      if (grant) this.remember(grant.credentials);
      return grant?.credentials;
    });
  }

  /** Like load, but a user without stored credentials must sign in again (ReauthRequiredError). */
  async loadRequired(email: string): Promise<GoogleCredentials> {
    const startedAt = new Date();
    const credentials = await this.load(email);
    if (!credentials) throw new ReauthRequiredError('No Google credentials are stored for this user.', startedAt);
    return credentials;
  }

  /** Keeps `credentials` as the user's copy, and gives their access token to the user's Google client. */
  remember(credentials: GoogleCredentials): void {
    this.cache.set(credentials.email, credentials);
    this.clients.updateToken(credentials);
  }

  /** Drops the copy only: the next call reads S3. */
  dropCopy(email: string): void {
    this.cache.delete(email);
  }

  /** Drops everything this replica holds for the user: the copy, the Google client and any unwritten refresh. */
  forget(email: string): void {
    this.cache.delete(email);
    this.clients.drop(email);
    this.writeBack.cancel(email);
  }
}
