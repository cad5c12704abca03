import type { ProtectedResource } from './protected-resources.js';

/**
 * The `WWW-Authenticate` value of a 401: where the resource's metadata is (RFC 9728 section 5.1) and the scopes
 * to ask for (RFC 6750 section 3), plus `error="invalid_token"` when a token was sent and refused.
 */
export function unauthorizedChallenge(resource: ProtectedResource, invalidToken: boolean): string {
  const params = [`resource_metadata="${resource.metadataUrl}"`];
  if (resource.scopesToRequest.length) params.push(`scope="${resource.scopesToRequest.join(' ')}"`);
  if (invalidToken) params.push('error="invalid_token"');
  return `Bearer ${params.join(', ')}`;
}

/**
 * The `WWW-Authenticate` value of a 403 for a token that lacks scopes (RFC 6750 section 3.1): `scope` names every
 * scope the operation needs, so a client can authorize again asking for them (the MCP step-up rule).
 */
export function insufficientScopeChallenge(resource: ProtectedResource, scopes: readonly string[]): string {
  return `Bearer error="insufficient_scope", scope="${scopes.join(' ')}", resource_metadata="${resource.metadataUrl}"`;
}
