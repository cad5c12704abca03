import { MAX_PENDING_REQUEST_BYTES, pendingRequestBytes, type PendingAuthorization } from '../auth/sign-in-flow.store.js';
import { OAuthClient } from './oauth-client.js';
import { OAuthError, OAuthErrorCode } from './oauth-error.js';
import { redirectUriMatches, redirectUriProblem } from './redirect-uris.js';
import { parseScopeRequest } from './scope-request.js';

/**
 * An authorization request on its way through consent and the Google sign-in. It travels inside auth's sign-in
 * flow cookie as a PendingAuthorization (auth carries it without reading the fields added here) and comes back to
 * the authorization server through SignInContinuation.
 */
export interface AuthorizationRequest extends PendingAuthorization {
  /** The person pressed Allow on our consent page before signing in with Google. */
  approved?: boolean;
  /**
   * With `approved`: the digest of the consent cookie of the browser where Allow was pressed. The request travels
   * in a link (/auth/google?handoff=) that anyone can be sent, so the Allow counts only back in that browser.
   */
  approvedIn?: string;
  /**
   * The digest of the consent cookie of the browser that sent the request to /oauth/authorize. The hop back from the
   * Google sign-in (a link, like the handoff) issues a code without our page only in that browser: opened anywhere
   * else it would send a stranger on to the client's redirect URI, and remember the signed-in user there.
   */
  startedIn?: string;
  /** The user our remembered-user cookie named when the request arrived (their approval let it skip the page). */
  rememberedUser?: string;
  /** After the Google sign-in: the requested scopes Google says the user granted (space separated); the code's scope. */
  grantedScope?: string;
  /**
   * The client sent prompt=consent (OpenID Connect's parameter, sent by some OAuth clients): our consent page is
   * shown even when an approval on record covers the request. The only prompt value this server honours; kept with
   * the request so the "connect again" link asks for it too (authorizationRequestQuery).
   */
  prompt?: 'consent';
}

/**
 * An authorization request that is wrong in a way the client should hear about (RFC 6749 section 4.1.2.1); it is
 * sent back to the redirect URI only after the person has shown they trust the client (RFC 9700 section 4.11.2).
 */
export class AuthorizationRequestError extends Error {
  constructor(
    readonly client: OAuthClient,
    readonly redirectUri: string,
    readonly state: string | undefined,
    readonly code: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
  }

  /** The redirect that reports this error to the client. */
  location(issuer: string): string {
    return errorRedirect(this.redirectUri, this.code, this.description, this.state, issuer);
  }
}

/** The URL that reports an error to the client at its redirect URI, with state and iss (RFC 9207). */
export function errorRedirect(redirectUri: string, code: string, description: string, state: string | undefined, issuer: string): string {
  const back = new URL(redirectUri);
  back.searchParams.set('error', code);
  back.searchParams.set('error_description', description);
  if (state) back.searchParams.set('state', state);
  back.searchParams.set('iss', issuer);
  return back.toString();
}

const str = (v: unknown, max = 2048) => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);

/**
 * Checks an authorization request's parameters against its client. Problems with the client or the redirect URI
 * throw OAuthError (shown to the person, never redirected); the rest throw AuthorizationRequestError.
 */
export function parseAuthorizationRequest(q: Record<string, unknown>, client: OAuthClient | undefined, resourceOf: (r: string) => string | undefined): AuthorizationRequest {
  if (!client) throw new OAuthError('invalid_request', 'Unknown or missing client_id. Register the client at /oauth/register first.');
  // Sent twice (an array here) it is neither of them (RFC 6749 section 3.1): refused, not taken as left out, which
  // would pick the registered one and let the code exchange leave redirect_uri out.
  if (q.redirect_uri !== undefined && typeof q.redirect_uri !== 'string') throw new OAuthError('invalid_request', 'redirect_uri must be sent once, as one URI.');
  const presented = q.redirect_uri === undefined ? undefined : str(q.redirect_uri);
  if (presented !== undefined) {
    const problem = redirectUriProblem(presented);
    if (problem) throw new OAuthError('invalid_request', `redirect_uri ${problem}.`);
  }
  const registered = presented ? client.redirectUris.find((r) => redirectUriMatches(r, presented)) : client.redirectUris.length === 1 ? client.redirectUris[0] : undefined;
  if (!registered) {
    throw new OAuthError('invalid_request', presented ? 'redirect_uri does not exactly match a registered redirect URI of this client.' : 'redirect_uri is required: this client registered several.');
  }
  const redirectUri = presented ?? registered;
  const state = q.state === undefined ? undefined : str(q.state, 512);
  const fail = (code: OAuthErrorCode, description: string): never => {
    throw new AuthorizationRequestError(client, redirectUri, state, code, description);
  };
  if (q.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
  if (q.state !== undefined && !state) return fail('invalid_request', 'state must be sent once, as 1 to 512 characters, or left out.');
  const challenge = str(q.code_challenge, 128);
  if (!challenge) return fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256.');
  if (q.code_challenge_method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256 (plain is not allowed).');
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail('invalid_request', 'code_challenge must be the base64url SHA-256 of the verifier (43 characters).');
  const resource = q.resource === undefined ? undefined : resourceOf(str(q.resource, 512) ?? '');
  if (q.resource !== undefined && !resource) {
    return fail('invalid_target', 'resource must be this service or one of its resources: see /.well-known/oauth-protected-resource and the resource_metadata of a 401.');
  }
  const scope = parseScopeRequest(q.scope);
  if (!scope.ok) return fail('invalid_scope', scope.description);
  const promptConsent = typeof q.prompt === 'string' && q.prompt.split(' ').includes('consent');
  const request: AuthorizationRequest = {
    clientId: client.clientId,
    redirectUri,
    ...(presented ? {} : { redirectUriImplied: true }),
    codeChallenge: challenge,
    state,
    resource,
    scope: scope.scopes.join(' ') || undefined,
    ...(promptConsent ? { prompt: 'consent' as const } : {}),
  };
  // The request travels in the browser's sign-in flow cookie, which must stay under a browser's 4096-byte cookie cap
  // and leave room for the browser's other flows (see the size bounds in sign-in-flow.store.ts): refused here, before
  // any cookie is set, rather than kept in a cookie the browser drops or that fills its Cookie header.
  const bytes = pendingRequestBytes(request);
  if (bytes > MAX_PENDING_REQUEST_BYTES) {
    return fail(
      'invalid_request',
      `The authorization request is too large: its client_id, redirect_uri, state, scope and resource take ${bytes} bytes together (UTF-8, with control characters, quotes and backslashes counted as escaped), at most ${MAX_PENDING_REQUEST_BYTES} are accepted. Send a shorter state or fewer scopes.`,
    );
  }
  return request;
}

/** Stands for "no scope parameter": whatever access the service gives by default, approved as a thing of its own. */
export const DEFAULT_ACCESS = '(default)';

/** The scopes a request asks for, as the approval records them (a request without scope asks DEFAULT_ACCESS). */
export function requestedScopes(request: PendingAuthorization): string[] {
  const scopes = [...new Set((request.scope ?? '').split(' ').filter(Boolean))];
  return scopes.length ? scopes : [DEFAULT_ACCESS];
}

/** The request as a code grant keeps it: only the fields of PendingAuthorization. */
export function pendingPart(r: AuthorizationRequest): PendingAuthorization {
  return { clientId: r.clientId, redirectUri: r.redirectUri, ...(r.redirectUriImplied ? { redirectUriImplied: true } : {}), codeChallenge: r.codeChallenge, state: r.state, resource: r.resource, scope: r.scope };
}

/**
 * The query of an /oauth/authorize request that asks for `request` again: the inverse of parseAuthorizationRequest
 * (kept next to it so the two stay in step), for the sign-in error page's "connect again" link. Every parameter of
 * the client's that this server honours (prompt=consent too: without it, the repeat would skip the consent page the
 * client asked for whenever an approval is on record), in the form it was understood: scope without the ignored
 * offline_access, prompt as `consent` alone, resource as its identifier. Only the client's own parameters (none of
 * what this server added on the way: an Allow, the browser bindings), so the restart goes
 * through every check and, where needed, the consent page again. The client is still waiting with this state and
 * code_challenge, so the code the restart ends with is one it accepts; none of these values is a secret (they were
 * in the URL the browser first opened, and PKCE rests on the verifier, which only the client holds).
 */
export function authorizationRequestQuery(request: AuthorizationRequest): URLSearchParams {
  const q = new URLSearchParams({ response_type: 'code', client_id: request.clientId });
  if (!request.redirectUriImplied) q.set('redirect_uri', request.redirectUri);
  q.set('code_challenge', request.codeChallenge);
  q.set('code_challenge_method', 'S256');
  if (request.state !== undefined) q.set('state', request.state);
  if (request.resource !== undefined) q.set('resource', request.resource);
  if (request.scope !== undefined) q.set('scope', request.scope);
  if (request.prompt === 'consent') q.set('prompt', 'consent');
  return q;
}
