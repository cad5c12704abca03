import { createHash, randomBytes } from 'node:crypto';

/** A code waiting to be exchanged (one-time, 10 minutes), bound to everything the authorize request said. */
export interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge?: string;
  challengeMethod?: string;
  email: string;
  emailVerified: boolean;
  scopes: string[];
  forceConsent: boolean;
  expiresAt: number;
}

export interface AccessTokenInfo {
  email: string;
  emailVerified: boolean;
  expiresAt: number;
  refreshToken?: string;
  scopes: string[];
}

export interface RefreshTokenInfo {
  email: string;
  emailVerified: boolean;
  clientId: string;
  scopes: string[];
}

export type Endpoint = 'token' | 'refresh' | 'userinfo' | 'revoke' | 'api';
export type Failure = 'timeout' | 'server_error' | 'invalid_grant';

const random = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

/** Everything Google remembers: codes, tokens, grants; plus what tests asked it to do wrong next. */
export class GoogleState {
  readonly codes = new Map<string, PendingCode>();
  readonly accessTokens = new Map<string, AccessTokenInfo>();
  readonly refreshTokens = new Map<string, RefreshTokenInfo>();
  /** `${email}|${clientId}`: users who granted this client before (Google then sends no new refresh token). */
  readonly grants = new Set<string>();
  readonly refreshes = new Map<string, number>();
  readonly failures = new Map<Endpoint, Failure>();
  readonly revocations: string[] = [];
  readonly apiCalls: Array<{ email: string; api: 'gmail' | 'drive' | 'calendar'; path: string }> = [];
  omitRefreshTokenOnce = false;

  constructor(readonly accessTokenTtlSeconds: number) {}

  /** Issues a one-time authorization code. */
  issueCode(pending: Omit<PendingCode, 'expiresAt'>): string {
    const code = random('4/');
    this.codes.set(code, { ...pending, expiresAt: Date.now() + 10 * 60_000 });
    return code;
  }

  /** Takes a code out (it can never be used again), or undefined when unknown or expired. */
  takeCode(code: string): PendingCode | undefined {
    const pending = this.codes.get(code);
    this.codes.delete(code);
    return pending && pending.expiresAt > Date.now() ? pending : undefined;
  }

  /** Issues an access token for a user. */
  issueAccessToken(info: Omit<AccessTokenInfo, 'expiresAt'>): string {
    const token = random('ya29.');
    this.accessTokens.set(token, { ...info, expiresAt: Date.now() + this.accessTokenTtlSeconds * 1000 });
    return token;
  }

  /** Issues a refresh token and records the grant. */
  issueRefreshToken(info: RefreshTokenInfo): string {
    const token = random('1//');
    this.refreshTokens.set(token, info);
    this.grants.add(`${info.email}|${info.clientId}`);
    return token;
  }

  /** The live access token's info, or undefined when unknown, revoked or expired. */
  liveAccessToken(token: string | undefined): AccessTokenInfo | undefined {
    const info = token ? this.accessTokens.get(token) : undefined;
    return info && info.expiresAt > Date.now() ? info : undefined;
  }

  /** Makes every current access token of the user expired. */
  expireAccessTokens(email: string): void {
    for (const info of this.accessTokens.values()) if (info.email === email) info.expiresAt = 0;
  }

  /** Revokes everything of a user: refresh tokens, access tokens, the grant. */
  revokeUser(email: string): void {
    for (const [t, info] of this.refreshTokens) if (info.email === email) this.refreshTokens.delete(t);
    for (const [t, info] of this.accessTokens) if (info.email === email) this.accessTokens.delete(t);
    for (const g of this.grants) if (g.startsWith(`${email}|`)) this.grants.delete(g);
  }

  /** Revokes one token as Google's revoke endpoint does; false when the token is unknown. */
  revokeToken(token: string): boolean {
    const refresh = this.refreshTokens.get(token);
    if (refresh) {
      this.refreshTokens.delete(token);
      for (const [t, info] of this.accessTokens) if (info.refreshToken === token) this.accessTokens.delete(t);
      this.grants.delete(`${refresh.email}|${refresh.clientId}`);
      return true;
    }
    return this.accessTokens.delete(token);
  }

  /** The one-shot failure queued for an endpoint, consumed. */
  takeFailure(endpoint: Endpoint): Failure | undefined {
    const f = this.failures.get(endpoint);
    this.failures.delete(endpoint);
    return f;
  }

  /** Counts a successful refresh. */
  countRefresh(email: string): void {
    this.refreshes.set(email, (this.refreshes.get(email) ?? 0) + 1);
  }

  /** Stable per-user subject id, like Google's numeric `sub`. */
  static subjectOf(email: string): string {
    return BigInt(`0x${createHash('sha256').update(email).digest('hex').slice(0, 15)}`).toString();
  }
}
