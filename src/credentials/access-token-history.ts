import { Injectable } from '@nestjs/common';
import { growingLru } from '../common/growing-lru.js';
import type { GoogleCredentials } from './google-credentials.js';
import { unexpired } from './refresh-merge.js';

/**
 * What this replica learnt about Google access tokens: which ones Google refused at an API call, and which ones it
 * got from Google's token endpoint itself. Both are kept an hour, longer than an access token lives.
 */
@Injectable()
export class AccessTokenHistory {
  /** Access tokens Google refused at an API call: never taken again from memory or S3 as if they were good. */
  private readonly rejected = growingLru<string, true>({ max: 10_000, ttl: 3600_000 });
  /** Access tokens this replica got from Google's token endpoint (see refreshedHere). */
  private readonly refreshed = growingLru<string, true>({ max: 10_000, ttl: 3600_000 });

  /** Records that Google refused `accessToken` at an API call. */
  reject(accessToken: string): void {
    this.rejected.set(accessToken, true);
  }

  /** True while the access token is good for a call: not about to expire, and not refused by Google here. */
  usable(credentials: GoogleCredentials): boolean {
    return unexpired(credentials) && !this.rejected.has(credentials.token as string);
  }

  /** Records that this replica got `accessToken` from Google's token endpoint. */
  refreshedNow(accessToken: string): void {
    this.refreshed.set(accessToken, true);
  }

  /** True when this replica got `accessToken` from Google's token endpoint itself (not from S3 or a sign-in). */
  refreshedHere(accessToken: string | undefined): boolean {
    return Boolean(accessToken && this.refreshed.has(accessToken));
  }
}
