import { OAuthError } from './oauth-error.js';
import { parseScopeRequest } from './scope-request.js';

/**
 * The scopes of an access token a refresh issues (RFC 6749 section 6): the grant's, or fewer when the request names a
 * `scope`. A client that hands a narrowed token on (to a sub-agent, a tool) must get only what it asked for, not the
 * whole grant. Never more than the grant: requested scopes the grant lacks are left out (RFC 6749 section 3.3 lets
 * the server issue less than asked, and the response's `scope` says what was issued), because clients built on
 * oauthlib resend the scope of their original request on every refresh, and one the person unticked at Google would
 * otherwise lock them out. When nothing asked for is in the grant, there is no token to give: invalid_scope. The
 * refresh token keeps the grant's scopes either way.
 */
export function refreshedScopes(requested: unknown, granted: string | undefined): string[] {
  const grant = (granted ?? '').split(' ').filter(Boolean);
  if (requested === undefined || requested === '') return grant;
  const asked = parseScopeRequest(requested);
  if (!asked.ok) throw new OAuthError('invalid_scope', asked.description);
  // Only ignored values (offline_access): as if no scope had been sent.
  if (asked.scopes.length === 0) return grant;
  const issued = asked.scopes.filter((s) => grant.includes(s));
  if (issued.length === 0) {
    throw new OAuthError('invalid_scope', `None of the requested scopes is in this grant (${grant.join(' ') || 'none'}): a refresh may ask for those or fewer. Authorize again to get more.`);
  }
  return issued;
}
