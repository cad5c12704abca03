import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';
export type GrantType = 'authorization_code' | 'refresh_token';

/** A registered OAuth client of this service (never Google's client). Secrets are kept only as SHA-256. */
export interface OAuthClient {
  clientId: string;
  clientName?: string;
  /** The client's home page (RFC 7591 client_uri); its host is shown on the consent page. */
  clientUri?: string;
  redirectUris: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** Registered grant types; absent on clients registered before they were recorded (then both). */
  grantTypes?: GrantType[];
  /** hex SHA-256 of the secret; the secret itself is shown once, at registration. */
  secretHash?: string;
  createdAt: string;
  /** Last time the client was used at /oauth/authorize or /oauth/token (recorded at most daily). */
  lastUsedAt?: string;
  /** Configured by OAUTH_STATIC_CLIENTS rather than registered. */
  static: boolean;
  /** An operator-configured client of the operator's own: no consent page. */
  firstParty?: boolean;
}

/** The grant types a client may use. */
export function grantTypesOf(client: OAuthClient): GrantType[] {
  return client.grantTypes ?? ['authorization_code', 'refresh_token'];
}

/** SHA-256 hex of a high-entropy random secret (a slow hash adds nothing for 256-bit random values). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time check of a presented secret against a stored hash. */
export function secretMatches(secret: string, hash: string | undefined): boolean {
  if (!hash) return false;
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
