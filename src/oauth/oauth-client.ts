import { createHash, timingSafeEqual } from 'node:crypto';

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

/** A registered OAuth client of this service (never Google's client). Secrets are kept only as SHA-256. */
export interface OAuthClient {
  clientId: string;
  clientName?: string;
  redirectUris: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** hex SHA-256 of the secret; the secret itself is shown once, at registration. */
  secretHash?: string;
  createdAt: string;
  /** Configured by OAUTH_STATIC_CLIENTS rather than registered. */
  static: boolean;
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

/** Whether a redirect URI is a loopback one, whose port may vary per request (RFC 8252 section 7.3). */
function loopback(u: URL): boolean {
  return u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]' || u.hostname === 'localhost');
}

/** Exact redirect URI matching; only a loopback redirect's port may differ from the registered one. */
export function redirectUriMatches(registered: string, presented: string): boolean {
  if (registered === presented) return true;
  let r: URL, p: URL;
  try {
    r = new URL(registered);
    p = new URL(presented);
  } catch {
    return false;
  }
  if (!loopback(r) || !loopback(p)) return false;
  return r.hostname === p.hostname && r.pathname === p.pathname && r.search === p.search && r.hash === '' && p.hash === '';
}

/** Why a redirect URI may not be registered, or undefined when it is acceptable. */
export function redirectUriProblem(uri: string): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `"${uri}" is not an absolute URI`;
  }
  if (u.hash) return `"${uri}" must not contain a fragment`;
  if (u.protocol === 'https:') return undefined;
  if (loopback(u)) return undefined;
  if (u.protocol === 'http:') return `"${uri}" must use https (plain http is allowed for loopback addresses only)`;
  // Private-use schemes of native apps (RFC 8252 section 7.1), e.g. com.example.app:/callback.
  if (/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/i.test(u.protocol)) return undefined;
  return `"${uri}" uses an unsupported scheme`;
}
