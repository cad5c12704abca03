import type { ProtectedResources } from '../sessions/protected-resources.js';
import { OAuthError } from './oauth-error.js';

/**
 * The audience of a token the token endpoint issues (RFC 8707 section 2.2): the resource the grant was for, unless
 * the request names a resource again, which must be one of ours and that resource or one below it (a token can be
 * narrowed, never widened). A grant without a resource is for JWT_AUDIENCE, which covers every resource.
 */
export function tokenAudience(resources: ProtectedResources, requested: unknown, granted: string | undefined): string | undefined {
  if (requested === undefined) return granted;
  const resource = typeof requested === 'string' ? resources.byIdentifier(requested) : undefined;
  if (!resource) throw new OAuthError('invalid_target', 'resource must be this service or one of its resources: see /.well-known/oauth-protected-resource.');
  if (granted !== undefined && !resources.covers(granted, resource)) {
    throw new OAuthError('invalid_target', `This grant is for ${granted}: ask for that resource or one below it, or authorize again for ${resource.identifier}.`);
  }
  return resource.identifier;
}
