import { createHash, randomBytes } from 'node:crypto';
import type { Api } from './scopes.js';

/** Who signed in and what they allowed; carried from the consent page through codes and tokens. */
export interface Identity {
  email: string;
  emailVerified: boolean;
  clientId: string;
  scopes: string[];
}

/** A code waiting to be exchanged: one-time, 10 minutes, bound to everything the authorize request said. */
export interface PendingCode extends Identity {
  redirectUri: string;
  challenge?: string;
  challengeMethod?: 'S256' | 'plain';
  /** access_type=offline: without it Google never issues a refresh token. */
  offline: boolean;
  /** prompt=consent: Google issues a new refresh token even when the user granted this client before. */
  forceConsent: boolean;
  nonce?: string;
  expiresAt: number;
}

export interface AccessTokenInfo extends Identity {
  issuedAt: number;
  expiresAt: number;
  /** The refresh token this access token came from (or was issued with); revoking either revokes both. */
  refreshToken?: string;
}

export type RefreshTokenInfo = Identity;

/** A user's consent to a client: what Google remembers between sign-ins (it decides whether a refresh token is sent). */
interface Grant {
  scopes: Set<string>;
  offline: boolean;
}

export interface ApiCall {
  email: string;
  api: Api;
  method: string;
  path: string;
  /** The query string as received (`q=...&maxResults=...`), so tests can see what the service forwarded. */
  query: string;
  /** The HTTP status answered; 0 when the call was left hanging by a `timeout` failure. */
  status: number;
}

const CODE_TTL_MS = 10 * 60_000;
const random = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;
const grantKey = (email: string, clientId: string) => `${email}|${clientId}`;

/** Everything Google remembers: codes, tokens, grants, and what the tests may inspect afterwards. */
export class GoogleState {
  private readonly codes = new Map<string, PendingCode>();
  private readonly accessTokens = new Map<string, AccessTokenInfo>();
  private readonly refreshTokens = new Map<string, RefreshTokenInfo>();
  private readonly grants = new Map<string, Grant>();
  private readonly refreshes = new Map<string, number>();
  readonly revocations: string[] = [];
  readonly apiCalls: ApiCall[] = [];
  omitRefreshTokenOnce = false;
  /**
   * Refresh token rotation, as Google does for some clients: each refresh answers with a new refresh token and the
   * one it used is refused from then on (invalid_grant); a new grant that issues a refresh token revokes the
   * user's older ones for that client. Access tokens already issued stay valid until they expire.
   */
  rotateRefreshTokens = false;

  constructor(readonly accessTokenTtlSeconds: number) {}

  /** What a restart must not forget (persistence.ts): tokens, grants and refresh counts; not the test logs. */
  snapshot() {
    return { codes: this.codes, accessTokens: this.accessTokens, refreshTokens: this.refreshTokens, grants: this.grants, refreshes: this.refreshes };
  }

  /** Takes back a snapshot() read from disk. */
  restore(saved: Partial<ReturnType<GoogleState['snapshot']>>): void {
    const into = <K, V>(target: Map<K, V>, source: Map<K, V> | undefined) => source?.forEach((v, k) => target.set(k, v));
    into(this.codes, saved.codes);
    into(this.accessTokens, saved.accessTokens);
    into(this.refreshTokens, saved.refreshTokens);
    into(this.grants, saved.grants);
    into(this.refreshes, saved.refreshes);
  }

  issueCode(pending: Omit<PendingCode, 'expiresAt'>): string {
    const now = Date.now();
    // Codes nobody exchanged would pile up over a long local run.
    for (const [c, p] of this.codes) if (p.expiresAt <= now) this.codes.delete(c);
    const code = random('4/0A');
    this.codes.set(code, { ...pending, expiresAt: now + CODE_TTL_MS });
    return code;
  }

  /** Takes a code out, so it can never be used again (even when this exchange fails); undefined when unknown or expired. */
  takeCode(code: string): PendingCode | undefined {
    const pending = this.codes.get(code);
    this.codes.delete(code);
    return pending && pending.expiresAt > Date.now() ? pending : undefined;
  }

  /** Scopes of the user's earlier grant to the client (for include_granted_scopes). */
  grantedScopes(email: string, clientId: string): string[] {
    return [...(this.grants.get(grantKey(email, clientId))?.scopes ?? [])];
  }

  /** Whether the user already gave this client offline access (then Google sends no new refresh token unless forced). */
  hasOfflineGrant(email: string, clientId: string): boolean {
    return this.grants.get(grantKey(email, clientId))?.offline ?? false;
  }

  /** Records the consent given in a code exchange. */
  recordGrant(identity: Identity, offline: boolean): void {
    const key = grantKey(identity.email, identity.clientId);
    const grant = this.grants.get(key) ?? { scopes: new Set<string>(), offline: false };
    identity.scopes.forEach((s) => grant.scopes.add(s));
    grant.offline ||= offline;
    this.grants.set(key, grant);
  }

  issueAccessToken(identity: Identity, refreshToken?: string): string {
    const token = random('ya29.a0');
    const now = Date.now();
    this.accessTokens.set(token, { ...identity, refreshToken, issuedAt: now, expiresAt: now + this.accessTokenTtlSeconds * 1000 });
    return token;
  }

  issueRefreshToken(identity: Identity): string {
    const token = random('1//0g');
    this.refreshTokens.set(token, { ...identity });
    return token;
  }

  /** Rotation: the used refresh token stops working and a new one for the same grant is returned. */
  rotateRefreshToken(used: string): string {
    const identity = this.refreshTokens.get(used);
    if (!identity) throw new Error('cannot rotate an unknown refresh token');
    this.refreshTokens.delete(used);
    return this.issueRefreshToken(identity);
  }

  /** A re-grant under rotation: every older refresh token of the user for this client stops working. */
  revokeRefreshTokensOf(email: string, clientId: string): number {
    let n = 0;
    for (const [t, info] of this.refreshTokens) {
      if (info.email === email && info.clientId === clientId) {
        this.refreshTokens.delete(t);
        n++;
      }
    }
    return n;
  }

  /** Whether Google would accept this refresh token now (tests check that a stored one still works). */
  isLiveRefreshToken(token: string): boolean {
    return this.refreshTokens.has(token);
  }

  refreshTokenInfo(token: string): RefreshTokenInfo | undefined {
    return this.refreshTokens.get(token);
  }

  /** The access token's info even when it has expired (APIs still log whose token it was); undefined when unknown. */
  accessTokenInfo(token: string | undefined): AccessTokenInfo | undefined {
    return token ? this.accessTokens.get(token) : undefined;
  }

  /** The access token's info only while it is usable. */
  liveAccessToken(token: string | undefined): AccessTokenInfo | undefined {
    const info = this.accessTokenInfo(token);
    return info && info.expiresAt > Date.now() ? info : undefined;
  }

  /** Makes every current access token of the user (issued at least `olderThanMs` ago) expired; returns how many. */
  expireAccessTokens(email: string, olderThanMs = 0): number {
    let n = 0;
    const issuedBefore = Date.now() - olderThanMs;
    for (const info of this.accessTokens.values()) {
      if (info.email === email && info.expiresAt > 0 && (olderThanMs <= 0 || info.issuedAt <= issuedBefore)) {
        info.expiresAt = 0;
        n++;
      }
    }
    return n;
  }

  /** Revokes everything of a user with every client: refresh tokens, access tokens, grants. */
  revokeUser(email: string): void {
    for (const [t, info] of this.refreshTokens) if (info.email === email) this.refreshTokens.delete(t);
    for (const [t, info] of this.accessTokens) if (info.email === email) this.accessTokens.delete(t);
    for (const key of this.grants.keys()) if (key.startsWith(`${email}|`)) this.grants.delete(key);
  }

  /**
   * Google kills the user's refresh tokens without telling anyone (a password change with Gmail scopes, six months
   * unused, over 100 tokens per client and account, an admin's session policy) but remembers the consent: the next
   * sign-in without prompt=consent brings no new refresh token. Access tokens already issued live until they expire.
   * Returns how many refresh tokens died.
   */
  killRefreshTokens(email: string): number {
    let n = 0;
    for (const [t, info] of this.refreshTokens) {
      if (info.email === email) {
        this.refreshTokens.delete(t);
        n++;
      }
    }
    return n;
  }

  /**
   * Revokes one token as Google's revoke endpoint does: a refresh token, or a still valid access token, removes the
   * user's whole grant to that client (Google's documentation: revoking an access token also revokes its refresh
   * token; the app then loses all access). An expired access token cannot be revoked. False when nothing matched.
   */
  revokeToken(token: string): boolean {
    const owner = this.refreshTokens.get(token) ?? this.liveAccessToken(token);
    if (!owner) return false;
    for (const [t, info] of this.refreshTokens) if (info.email === owner.email && info.clientId === owner.clientId) this.refreshTokens.delete(t);
    for (const [t, info] of this.accessTokens) if (info.email === owner.email && info.clientId === owner.clientId) this.accessTokens.delete(t);
    this.grants.delete(grantKey(owner.email, owner.clientId));
    return true;
  }

  countRefresh(email: string): void {
    this.refreshes.set(email, (this.refreshes.get(email) ?? 0) + 1);
  }

  refreshCount(email?: string): number {
    return email ? (this.refreshes.get(email) ?? 0) : [...this.refreshes.values()].reduce((a, b) => a + b, 0);
  }

  /** Stable per-user subject id, numeric like Google's `sub`. */
  static subjectOf(email: string): string {
    return `1${BigInt(`0x${createHash('sha256').update(email).digest('hex').slice(0, 16)}`).toString().padStart(20, '0')}`;
  }
}
