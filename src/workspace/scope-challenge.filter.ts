import { ArgumentsHost, Catch, Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import { DomainExceptionFilter } from '../common/domain-exception.filter.js';
import { insufficientScopeChallenge, unauthorizedChallenge } from '../sessions/bearer-challenge.js';
import { PRINCIPAL, type Principal } from '../sessions/principal.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { scopesToRequest } from '../common/google-scopes.js';
import { authorizeAgainStep, DECLARED_NEEDS, type ScopedRequest } from './token-scope.guard.js';

/**
 * The Workspace routes' error mapping: the service's one (DomainExceptionFilter), after giving the refusals raised
 * while calling Google the challenge a client acts on. A 403 `insufficient_scope` (the user's Google grant lacks
 * the scope) gets the same step-up challenge as a token lacking it, and a 401 (the Google grant is gone: sign in
 * again) points at the route's resource metadata like the bearer guard's 401s. Errors that already carry a
 * challenge (the guards') are mapped unchanged. A filter, not an interceptor: it runs only when something failed,
 * where an interceptor put an rxjs pipe on every Workspace call (npm run bench).
 */
@Injectable()
@Catch()
export class ScopeChallengeFilter extends DomainExceptionFilter {
  constructor(private readonly resources: ProtectedResources) {
    super();
  }

  /** Maps the error to HTTP, with the challenge added where it applies. */
  override catch(exception: unknown, host: ArgumentsHost): void {
    super.catch(this.withChallenge(exception, host.switchToHttp().getRequest<ScopedRequest>()), host);
  }

  private withChallenge(err: unknown, request: ScopedRequest | undefined): unknown {
    if (!request || !(err instanceof DomainError) || err.headers['WWW-Authenticate']?.includes('resource_metadata=')) return err;
    const resource = this.resources.forRoute(request.routeOptions?.url);
    let challenge: string | undefined;
    let message = err.message;
    if (err.status === 403 && err.error === 'insufficient_scope') {
      const declared = scopesToRequest(request[DECLARED_NEEDS] ?? []);
      const scopes = declared.length ? declared : String(err.details.scope ?? '').split(' ').filter(Boolean);
      challenge = insufficientScopeChallenge(resource, scopes);
      // An OAuth client fixes this by authorizing again (which asks Google), not through GOOGLE_SCOPES.
      if ((request[PRINCIPAL] as Principal | undefined)?.claims.client_id !== undefined) {
        message = `Google refused: this user has not granted it the scope ${scopes.join(' ')}. ${authorizeAgainStep(scopes)}`;
      }
    } else if (err.status === 401) {
      challenge = unauthorizedChallenge(resource, true);
    }
    if (!challenge) return err;
    return new DomainError(err.status, err.error, message, { ...err.headers, 'WWW-Authenticate': challenge }, err.details);
  }
}
