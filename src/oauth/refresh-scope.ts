import { OAuthError } from './oauth-error.js';
import { parseScopeRequest } from './scope-request.js';

/**
 * The scopes of an access token a refresh issues (RFC 6749 section 6): the grant's, or fewer when the request names a
 * `scope` within them. A client that hands a narrowed token on (to a sub-agent, a tool) must get exactly what it asked
 * for, not the whole grant; asking for a scope the grant does not have is invalid_scope, never a silent answer with
 * something else. The refresh token keeps the grant's scopes either way.
 */
export function refreshedScopes(requested: unknown, granted: string | undefined): string[] {
  const grant = (granted ?? '').split(' ').filter(Boolean);
  if (requested === undefined || requested === '') return grant;
  const asked = parseScopeRequest(requested);
  if (!asked.ok) throw new OAuthError('invalid_scope', asked.description);
  const wider = asked.scopes.filter((s) => !grant.includes(s));
  if (wider.length) {
    throw new OAuthError(
      'invalid_scope',
      `This grant does not include ${wider.slice(0, 3).join(', ')}${wider.length > 3 ? ` and ${wider.length - 3} more` : ''}: a refresh may ask for the grant's scopes or fewer (${grant.join(' ') || 'none'}). Authorize again to get more.`,
    );
  }
  // Only ignored values (offline_access): as if no scope had been sent.
  return asked.scopes.length ? asked.scopes : grant;
}
