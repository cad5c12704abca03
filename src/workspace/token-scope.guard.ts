import { applyDecorators, CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiExtension } from '@nestjs/swagger';
import { DomainError } from '../common/domain-error.js';
import { insufficientScopeChallenge } from '../sessions/bearer-challenge.js';
import { tokenScopes } from '../sessions/bearer-token.service.js';
import { PRINCIPAL, Principal } from '../sessions/principal.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { REQUIRED_SCOPES, ScopeNeed, scopesToRequest, unmetTokenNeeds } from '../common/google-scopes.js';
import { httpRequestOf } from '../common/http-request-of.js';
import { AppConfig } from '../config/app-config.js';
import { inputNeedOf, inputNeedsOfHandler } from './input-scope.js';
import { fileScopeOf, type FileScope } from './app-files/app-file-marker.js';

const SCOPE_NEEDS = 'workspace:scopeNeeds';

/** Where TokenScopeGuard leaves the route's declared needs on the request, for ScopeChallengeFilter. */
export const DECLARED_NEEDS = Symbol('declaredScopeNeeds');
/** Where TokenScopeGuard leaves an OAuth client's FileScope (drive.file marks) for AppFileGuard and the handler. */
export const FILE_SCOPE = Symbol('fileScope');

/** A Workspace request as the guards and the challenge filter see it. */
export type ScopedRequest = {
  routeOptions?: { url?: string };
  query?: unknown;
  params?: unknown;
  body?: unknown;
  [PRINCIPAL]?: Principal;
  [DECLARED_NEEDS]?: readonly ScopeNeed[];
  [FILE_SCOPE]?: FileScope;
};

/** What an OAuth client does when a scope is missing: authorize again, asking for it too. */
export function authorizeAgainStep(scopes: readonly string[]): string {
  return `Authorize again at /oauth/authorize with scope "${scopes.join(' ')}" added to the scopes you already use (the user is asked at Google), then retry with the new token.`;
}

/**
 * Declares the kinds of Google call a route makes (each one needs one of its scopes); TokenScopeGuard checks the
 * bearer token carries them. The OpenAPI document shows them as `x-scopes`.
 */
export const RequiresScope = (...needs: ScopeNeed[]) =>
  applyDecorators(
    SetMetadata(SCOPE_NEEDS, needs),
    ApiExtension('x-scopes', { request: scopesToRequest(needs), anyOf: needs.map((n) => [...REQUIRED_SCOPES[n]]) }),
  );

/** The scopes a route declared with @RequiresScope, or undefined. */
export function declaredNeeds(reflector: Reflector, context: ExecutionContext): ScopeNeed[] | undefined {
  return reflector.get<ScopeNeed[] | undefined>(SCOPE_NEEDS, context.getHandler());
}

/** What a route handler declared with @RequiresScope, read from the handler itself (for checks at build time). */
export function needsOfHandler(handler: object): ScopeNeed[] | undefined {
  return Reflect.getMetadata(SCOPE_NEEDS, handler) as ScopeNeed[] | undefined;
}

/**
 * What a browser sign-in's user does to get the scopes `unmet` names. When the sign-in already asks Google for one
 * scope of each (`signInScopes`, GOOGLE_SCOPES: start:local asks for all), the person left it out on Google's consent
 * page (granular consent), and only signing in again and granting it helps; otherwise the operator adds it first.
 */
export function browserSignInStep(unmet: readonly ScopeNeed[], signInScopes: readonly string[]): string {
  return unmet.every((need) => REQUIRED_SCOPES[need].some((s) => signInScopes.includes(s)))
    ? 'The sign-in asks Google for it: sign in again at /auth/google and grant it on Google\'s consent page (leave it ticked), then use the new token.'
    : 'Add it to GOOGLE_SCOPES and have the user sign in again at /auth/google to grant it.';
}

/**
 * The 403 for a token that lacks scopes an operation needs: the step-up challenge names all of them. `signInScopes`:
 * what the browser sign-in asks Google for (the advice to a browser sign-in's user depends on it). `because`: what
 * in the request needs the scope, when the operation would do without it for other input (InputNeeds).
 */
export function insufficientTokenScope(resource: Parameters<typeof insufficientScopeChallenge>[0], needs: readonly ScopeNeed[], unmet: readonly ScopeNeed[], oauthClient: boolean, signInScopes: readonly string[], because?: string): DomainError {
  const all = scopesToRequest(needs);
  const missing = scopesToRequest(unmet).join(' ');
  const how = oauthClient ? authorizeAgainStep(all) : browserSignInStep(unmet, signInScopes);
  const what = because ? `${because} That needs the Google scope ${missing}, which this access token does not carry.` : `This access token does not carry the Google scope this operation needs (${missing}).`;
  return new DomainError(
    403,
    'insufficient_scope',
    `${what} ${how}`,
    { 'WWW-Authenticate': insufficientScopeChallenge(resource, all) },
    { scope: all.join(' ') },
  );
}

/**
 * Checks the token's own scopes against the route's @RequiresScope, and against what its query needs beyond that
 * (@RequiresScopeForInput), after the bearer and user isolation guards and before anything reaches Google (which
 * GoogleCaller checks separately against the user's Google grant). For an OAuth client's token it also leaves the
 * call's FileScope on the request (drive.file marks: what AppFileGuard checks and what the handler creates with).
 * A route of a controller using this guard that declares nothing is a wiring bug and fails closed.
 */
@Injectable()
export class TokenScopeGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly resources: ProtectedResources,
    private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const needs = declaredNeeds(this.reflector, context);
    if (!needs?.length) throw new Error(`${context.getClass().name}.${context.getHandler().name} declares no @RequiresScope`);
    const request = httpRequestOf<ScopedRequest>(context);
    request[DECLARED_NEEDS] = needs;
    const principal = request[PRINCIPAL];
    if (!principal) throw new Error('TokenScopeGuard runs after the bearer guard');
    const oauthClient = principal.claims.client_id !== undefined;
    const scopes = tokenScopes(principal.claims);
    const unmet = unmetTokenNeeds(needs, scopes, oauthClient);
    const resource = () => this.resources.forRoute(request.routeOptions?.url);
    if (unmet.length > 0) throw insufficientTokenScope(resource(), needs, unmet, oauthClient, this.config.values.google.scopes);
    // Input needs and drive.file marks hold only OAuth clients' tokens (inputNeedOf, fileScopeOf): a browser
    // sign-in's request, the benchmarked warm path among them, reads no more metadata. The query as it arrived:
    // guards run before the validation pipes.
    if (!oauthClient) return true;
    const extra = inputNeedOf(inputNeedsOfHandler(context.getHandler()), request.query, oauthClient);
    if (extra && unmetTokenNeeds([extra.need], scopes, oauthClient).length > 0) {
      throw insufficientTokenScope(resource(), [...needs, extra.need], [extra.need], oauthClient, this.config.values.google.scopes, extra.because);
    }
    request[FILE_SCOPE] = fileScopeOf({ email: principal.email, clientId: principal.claims.client_id, scopes }, extra ? [...needs, extra.need] : needs);
    return true;
  }
}
