import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { catchError, Observable, throwError } from 'rxjs';
import { DomainError } from '../common/domain-error.js';
import { insufficientScopeChallenge, unauthorizedChallenge } from '../sessions/bearer-challenge.js';
import { PRINCIPAL, type Principal } from '../sessions/principal.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { scopesToRequest } from '../common/google-scopes.js';
import { declaredNeeds } from './token-scope.guard.js';

/**
 * Gives the refusals raised while calling Google the challenge a client acts on: a 403 `insufficient_scope` (the
 * user's Google grant lacks the scope) gets the same step-up challenge as a token lacking it, and a 401 (the Google
 * grant is gone: sign in again) points at the route's resource metadata like the bearer guard's 401s.
 */
@Injectable()
export class ScopeChallengeInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly resources: ProtectedResources,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((err: unknown) => {
        if (!(err instanceof DomainError) || err.headers['WWW-Authenticate']?.includes('resource_metadata=')) return throwError(() => err);
        const request = context.switchToHttp().getRequest<{ routeOptions?: { url?: string }; [PRINCIPAL]?: Principal }>();
        const resource = this.resources.forRoute(request.routeOptions?.url);
        let challenge: string | undefined;
        let message = err.message;
        if (err.status === 403 && err.error === 'insufficient_scope') {
          const declared = scopesToRequest(declaredNeeds(this.reflector, context) ?? []);
          const scopes = declared.length ? declared : String(err.details.scope ?? '').split(' ').filter(Boolean);
          challenge = insufficientScopeChallenge(resource, scopes);
          // An OAuth client fixes this by authorizing again (which asks Google), not through GOOGLE_SCOPES.
          if (request[PRINCIPAL]?.claims.client_id !== undefined) {
            message = `Google refused: this user has not granted it the scope ${scopes.join(' ')}. Authorize again at /oauth/authorize with that scope added to the scopes you already use; the user is then asked at Google.`;
          }
        } else if (err.status === 401) {
          challenge = unauthorizedChallenge(resource, true);
        }
        if (!challenge) return throwError(() => err);
        const withChallenge = new DomainError(err.status, err.error, message, { ...err.headers, 'WWW-Authenticate': challenge }, err.details);
        return throwError(() => withChallenge);
      }),
    );
  }
}
