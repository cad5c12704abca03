import { OAuthClient, secretMatches } from './oauth-client.js';
import { OAuthError } from './oauth-error.js';

/** Client credentials as presented at the token, revocation or introspection endpoint. */
export interface PresentedClient {
  clientId?: string;
  clientSecret?: string;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

/** Reads client credentials from HTTP Basic (RFC 6749 2.3.1: form-encoded id and secret) or the form body. */
export function presentedClient(authorization: string | undefined, body: Record<string, unknown>): PresentedClient {
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  if (authorization?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'The Authorization header is not valid HTTP Basic client authentication: send base64 of "client_id:client_secret".');
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    let basic: PresentedClient;
    try {
      basic = { clientId: unform(decoded.slice(0, colon)), clientSecret: unform(decoded.slice(colon + 1)), method: 'client_secret_basic' };
    } catch {
      throw new OAuthError('invalid_client', 'The Authorization header is not valid HTTP Basic client authentication.');
    }
    // One client, one method per request (RFC 6749 section 2.3): which of two differing identities the request speaks
    // for must never be a guess.
    if (body.client_secret !== undefined || (body.client_id !== undefined && str(body.client_id) !== basic.clientId)) {
      throw new OAuthError('invalid_request', 'Authenticate once: either HTTP Basic, or client_id (and client_secret) in the body, not both. A client_id in the body next to Basic must be the same one.');
    }
    return basic;
  }
  const clientSecret = str(body.client_secret);
  return { clientId: str(body.client_id), clientSecret, method: clientSecret ? 'client_secret_post' : 'none' };
}

/**
 * Checks presented credentials against the registered client, by the method it registered and no other (a
 * client_secret_basic client sending its secret in the body is refused); throws invalid_client (401) otherwise.
 */
export function authenticateClient(client: OAuthClient | undefined, presented: PresentedClient): OAuthClient {
  if (!client) throw new OAuthError('invalid_client', 'Unknown client. Register at /oauth/register or use the client_id you were given.');
  const registered = client.tokenEndpointAuthMethod;
  if (registered === 'none') {
    if (presented.method !== 'none') throw new OAuthError('invalid_client', 'This is a public client (token_endpoint_auth_method "none"): send client_id only, without a secret.');
    return client;
  }
  if (presented.method !== registered) {
    throw new OAuthError('invalid_client', `This client registered token_endpoint_auth_method "${registered}": authenticate with ${registered === 'client_secret_basic' ? 'HTTP Basic (Authorization header)' : 'client_id and client_secret in the form body'}, not ${presented.method}.`);
  }
  if (!presented.clientSecret || !secretMatches(presented.clientSecret, client.secretHash)) {
    throw new OAuthError('invalid_client', 'Client authentication failed: wrong or missing client secret.');
  }
  return client;
}
