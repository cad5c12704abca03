import { displayedStringProblem } from './client-metadata-rules.js';

/**
 * Redirect URI rules (OAuth 2.1 section 2.3.1, RFC 8252 sections 7.1-7.3, RFC 9700 section 4.1): compared as
 * strings, except that a loopback redirect's port may differ; no userinfo, dot segments or fragments; https, loopback
 * http, or a native app's private-use scheme. Hand-written because the WHATWG URL parser normalises exactly the
 * things that must be refused (it resolves `..`, decodes `%2e`, drops empty userinfo), so checks run on the raw string.
 */

/** Longest redirect URI accepted, at registration and at authorize. */
export const MAX_REDIRECT_URI_LENGTH = 512;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Whether a parsed URI is a loopback http redirect, whose port may vary per request (RFC 8252 section 7.3). */
export function isLoopback(u: URL): boolean {
  return u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname);
}

/** Why a redirect URI may not be used (at registration or at authorize), or undefined when it is acceptable. */
export function redirectUriProblem(uri: string): string | undefined {
  const shown = JSON.stringify(uri.length > 80 ? `${uri.slice(0, 80)}…` : uri);
  if (uri.length > MAX_REDIRECT_URI_LENGTH) return `${shown} is longer than ${MAX_REDIRECT_URI_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f\\]/.test(uri)) return `${shown} contains spaces, control characters or backslashes`;
  if (uri.includes('#')) return `${shown} must not contain a fragment (#)`;
  // The consent page shows the whole URI, so nothing in it may read differently from what it is (as client_name).
  const hidden = displayedStringProblem(uri);
  if (hidden) return `${shown} ${hidden}`;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `${shown} is not an absolute URI`;
  }
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(uri)?.[1] ?? '';
  if (authority.includes('@') || u.username || u.password) return `${shown} must not contain userinfo (user@host)`;
  const path = uri.replace(/^[a-z][a-z0-9+.-]*:(\/\/[^/?#]*)?/i, '').split('?')[0];
  if (path.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) return `${shown} must not contain "." or ".." path segments (also not percent-encoded)`;
  if (u.protocol === 'https:') return u.hostname ? undefined : `${shown} has no host`;
  if (isLoopback(u)) return undefined;
  if (u.protocol === 'http:') return `${shown} must use https (plain http is allowed for loopback addresses 127.0.0.1, [::1] and localhost only)`;
  // Private-use schemes of native apps are reverse domain names (RFC 8252 section 7.1), e.g. com.example.app:/callback.
  if (/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+:$/i.test(u.protocol)) return undefined;
  if (IDE_SCHEMES.has(u.protocol.toLowerCase())) return undefined;
  return `${shown} uses an unsupported scheme: use https, loopback http, a reverse-domain private-use scheme (com.example.app:/callback) or one of ${[...IDE_SCHEMES].join(' ')}`;
}

/**
 * Single-word schemes that IDEs registered as their own before RFC 8252's reverse-domain rule reached MCP: Cursor's
 * dynamic registration sends `cursor://anysphere.cursor-mcp/oauth/callback` together with its https and loopback
 * URIs, and one refused URI refuses the whole registration, so without it Cursor cannot connect. Named one by one, not
 * any single word: a single-word scheme may belong to an operating system handler (`ms-msdt:`, `search-ms:`) that a
 * redirect must never open. A code sent to them is no use without the client's PKCE verifier, as with any
 * private-use scheme; the consent page names the scheme, never the part after `//`.
 */
const IDE_SCHEMES: ReadonlySet<string> = new Set(['cursor:', 'vscode:', 'vscode-insiders:', 'windsurf:']);

/** Exact redirect URI matching: the same string, or for loopback the same string with another port. */
export function redirectUriMatches(registered: string, presented: string): boolean {
  if (registered === presented) return true;
  if (redirectUriProblem(presented)) return false;
  let r: URL;
  try {
    r = new URL(registered);
  } catch {
    return false;
  }
  if (!isLoopback(r)) return false;
  const p = new URL(presented);
  if (!isLoopback(p)) return false;
  // Rebuild the registered URI with the presented port: everything else must be character for character the same.
  const withPort = (raw: string, port: string) => raw.replace(/^(http:\/\/(?:127\.0\.0\.1|\[::1\]|localhost))(:\d+)?(?=[/?]|$)/i, `$1${port ? `:${port}` : ''}`);
  return withPort(registered, p.port) === presented;
}
