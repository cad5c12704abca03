import { Injectable, Logger } from '@nestjs/common';
import type { OAuth2Client } from 'google-auth-library';
import type { LRUCache } from 'lru-cache';
import { UpstreamError } from '../common/domain-error.js';
import { growingLru } from '../common/growing-lru.js';
import { isJsonObject } from '../common/json-object.js';
import { LazyImport } from '../common/lazy-import.js';
import { AppConfig } from '../config/app-config.js';
import type { GoogleCredentials } from './google-credentials.js';

/**
 * google-auth-library, imported with the first Google API a replica calls (GoogleApis.ready loads it), not at boot:
 * the googleapis packages need it anyway, and a replica that makes no Workspace call never pays for either.
 */
export const googleAuthLibrary = new LazyImport('The Google API client', () => import('google-auth-library'), (err) =>
  new Logger('GoogleApis').error({ msg: 'google-auth-library failed to load', error: (err as Error)?.name, detail: (err as Error)?.message }),
);

/**
 * Google's JSON APIs answer a success with a JSON object (or 204 and nothing). Anything else with a 2xx, such as an
 * HTML page from a captive portal or a proxy, or `null`, would otherwise reach the service's code as if it were
 * Google's data: an empty mailbox shown as a success, or a TypeError answered 500. It is a failed call instead (502).
 * Media downloads (`responseType: 'stream'`) are bytes, and pass.
 */
async function refuseNonJsonAnswer<R extends { status: number; data: unknown; config: { responseType?: string } }>(res: R): Promise<R> {
  const { data, status, config } = res;
  if (status === 204 || config.responseType === 'stream' || isJsonObject(data)) return res;
  throw new UpstreamError(
    "Google's answer was not its API's JSON (a proxy or captive portal between the service and Google may have answered instead). Nothing was changed on the service's side; retry in a few seconds.",
    'google_unavailable',
  );
}

/** An authenticated Google client for one user, plus the API clients built on it (one per API, made on demand). */
export class UserGoogleClient {
  private readonly apis = new Map<string, unknown>();
  private oauth: OAuth2Client | undefined;
  private accessToken = '';

  constructor(private readonly clientId: string) {}

  /** The user's OAuth2 client, made on first use; google-auth-library must be loaded (GoogleApis.ready does it). */
  get auth(): OAuth2Client {
    if (!this.oauth) {
      const library = googleAuthLibrary.loaded;
      if (!library) throw new Error('google-auth-library is not loaded: await googleAuthLibrary.load() (GoogleApis.ready does) first.');
      this.oauth = new library.OAuth2Client({ clientId: this.clientId });
      this.oauth.setCredentials({ access_token: this.accessToken });
      this.oauth.transporter.interceptors.response.add({ resolved: refuseNonJsonAnswer });
    }
    return this.oauth;
  }

  /** The API client `name`, built once per user by `build` and reused while this entry lives. */
  api<T>(name: string, build: (auth: OAuth2Client) => T): T {
    let client = this.apis.get(name) as T | undefined;
    if (!client) {
      client = build(this.auth);
      this.apis.set(name, client);
    }
    return client;
  }

  /** Points the client at a new access token in place (after a refresh). */
  useToken(accessToken: string): void {
    this.accessToken = accessToken;
    if (this.oauth && this.oauth.credentials.access_token !== accessToken) {
      // Only the access token: refreshing is GrantRefresh's job (single-flight, written to S3), so the
      // library must never refresh on its own and it gets neither the refresh token nor an expiry to act on.
      this.oauth.setCredentials({ access_token: accessToken });
    }
  }
}

/**
 * Authenticated Google clients by verified user email, bounded by GOOGLE_CLIENT_CACHE_TTL_MS and
 * GOOGLE_CLIENT_CACHE_MAX (LRU). Callers pass the email of the principal the guards verified, never a path value.
 */
@Injectable()
export class GoogleClientCache {
  private readonly clients: LRUCache<string, UserGoogleClient>;

  constructor(private readonly config: AppConfig) {
    const g = config.values.google;
    this.clients = growingLru({ max: g.clientCacheMax, ttl: Math.max(g.clientCacheTtlMs, 1), updateAgeOnGet: false });
  }

  /** The user's client, made or updated to use the given credentials' access token. */
  forUser(credentials: GoogleCredentials): UserGoogleClient {
    let entry = this.clients.get(credentials.email);
    if (!entry) {
      entry = new UserGoogleClient(this.config.values.google.clientId);
      this.clients.set(credentials.email, entry);
    }
    entry.useToken(credentials.token ?? '');
    return entry;
  }

  /** Updates a cached client in place after a refresh; no-op when the user has none. */
  updateToken(credentials: GoogleCredentials): void {
    this.clients.peek(credentials.email)?.useToken(credentials.token ?? '');
  }

  /** Forgets a user's client (logout of all sessions, revocation, dead grant). */
  drop(email: string): void {
    this.clients.delete(email);
  }

  /** Number of cached users, for tests and metrics. */
  get size(): number {
    return this.clients.size;
  }

  /** The user's cached client as it is, without making one or changing its recency (tests inspect it). */
  peek(email: string): UserGoogleClient | undefined {
    return this.clients.peek(email);
  }

  /** Whether a client is cached for this user (tests check isolation with a warm cache). */
  has(email: string): boolean {
    return this.clients.has(email);
  }
}
