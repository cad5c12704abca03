import { ForbiddenError, UnauthorizedError } from '../common/domain-error.js';
import { unauthorizedChallenge } from '../sessions/bearer-challenge.js';
import type { BearerClaims, BearerTokenService } from '../sessions/bearer-token.service.js';
import type { ProtectedResources } from '../sessions/protected-resources.js';

/** What the refused request would have done: its 401 says that this did not happen. */
export type BearerAction = 'revoke' | 'logout' | 'list-clients' | 'disconnect-client';

const NOT_DONE: Record<BearerAction, string> = {
  revoke: 'nothing was revoked',
  logout: 'no session was ended',
  'list-clients': 'no connected applications are listed',
  'disconnect-client': 'no application was disconnected',
};

/**
 * The claims of a live bearer token whose audience covers the whole service (JWT_AUDIENCE, the browser sign-in's,
 * or PUBLIC_URL): /auth/logout and /auth/revoke are public to the bearer guard (they check the token themselves),
 * so they must refuse a token issued for a narrower resource (/mcp, one Workspace API) as the guard does on every
 * other /auth/* route; otherwise a client granted read access to one API could end the user's whole account.
 * Anything else is 401 invalid_token and the caller changes nothing. Revoking the whole account also needs a token of
 * the person's own sign-in: an OAuth client's token gets 403.
 */
export function verifyWholeServiceBearer(tokens: BearerTokenService, resources: ProtectedResources, token: string, action: BearerAction): BearerClaims {
  // Built only for a refusal; it points at the whole service's metadata, like the guard's 401 on /auth/session.
  const challenge = () => ({ 'WWW-Authenticate': unauthorizedChallenge(resources.root, true) });
  const claims = tokens.verify(token);
  if (!claims) {
    throw new UnauthorizedError(
      `The token is not a live bearer token of this service (forged, expired, or issued elsewhere), so ${NOT_DONE[action]}. ` +
        'Send a bearer token that has not expired; sign in at /auth/google for a new one.',
      'invalid_token',
      challenge(),
    );
  }
  if (!resources.covers(claims.aud, resources.root)) {
    const holder = claims.client_id ? ` to OAuth client ${claims.client_id}` : '';
    throw new UnauthorizedError(
      `This bearer token was issued${holder} for ${String(claims.aud)}, not for the whole service (${resources.root.identifier}), so ${NOT_DONE[action]}. ` +
        'An OAuth client ends its own grant at POST /oauth/revoke (RFC 7009: token and client_id in a form body). ' +
        'To end a session or revoke the whole account, send a bearer token of the browser sign-in (/auth/google).',
      'invalid_token',
      challenge(),
    );
  }
  if (action !== 'logout' && claims.client_id) {
    // Revoking ends the Google grant and every other client's access too, and listing or disconnecting the person's
    // applications reaches other clients' grants: the person's decision, made with the bearer of their own sign-in,
    // never a third-party client's, however wide its audience (logout, which ends only the token's own session, stays
    // open to it).
    throw new ForbiddenError(
      `This bearer token belongs to OAuth client ${claims.client_id}, and a client cannot ${action === 'revoke' ? 'revoke the whole account' : "manage the person's connected applications"}, so ${NOT_DONE[action]}. ` +
        'The client ends its own grant at POST /oauth/revoke (RFC 7009: token and client_id in a form body); ' +
        'the person revokes everything with the bearer of their browser sign-in (/auth/google).',
      'client_token_not_allowed',
    );
  }
  return claims;
}
