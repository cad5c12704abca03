import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { UnauthorizedError } from '../common/domain-error.js';
import type { onRequestHookHandler } from 'fastify';
import { BearerTokenService, type BearerClaims } from './bearer-token.service.js';
import { Principal, PRINCIPAL } from './principal.js';
import { IS_PUBLIC } from '../common/public.decorator.js';
import { SessionStore } from './session.store.js';
import { unauthorizedChallenge } from './bearer-challenge.js';
import { ProtectedResources, type ProtectedResource } from './protected-resources.js';
import { httpRequestOf } from '../common/http-request-of.js';

/** The claims beforeBody verified, kept for the guard of the same request (the header cannot change in between). */
const CHECKED_BEFORE_BODY = Symbol('bearerClaimsCheckedBeforeBody');

type GuardedRequest = {
  headers: Record<string, unknown>;
  routeOptions?: { url?: string };
  [PRINCIPAL]?: Principal;
  [CHECKED_BEFORE_BODY]?: BearerClaims;
};

/** The next step of a 401 on a resource that names none of its own (the REST API's callers sign in in a browser). */
const SIGN_IN_HINT = 'Sign in at /auth/google and send the access_token as "Authorization: Bearer <token>".';

/** Extracts the token of an `Authorization: Bearer ...` header, or undefined. */
export function bearerFromHeader(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length < 8) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : undefined;
}

/** What is wrong with an Authorization header that carries no usable bearer token, or undefined if nothing was sent. */
export function authorizationHeaderProblem(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const value = header.trim();
  if (!/^bearer(\s|$)/i.test(value)) return "the Authorization header must start with 'Bearer ' followed by the token";
  const token = value.slice(6).trim();
  if (!token) return "the Authorization header has 'Bearer' but no token after it";
  if (/^["'].*["']$/.test(token)) return 'the token must be sent without quotes around it';
  if (/^bearer\s/i.test(token)) return "the Authorization header says 'Bearer' twice";
  return undefined;
}

/**
 * Deny by default: every route needs a valid bearer, issued for the resource the route belongs to, whose session
 * still exists and belongs to the token's subject, unless marked @Public(). On success the request carries the
 * verified Principal.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  /**
   * Whether a route is @Public(), by controller class and handler: fixed once the application is built, and reading
   * it through the Reflector on every call was about 1% of GET /auth/session's CPU (issue 14, target 1).
   */
  private readonly publicRoutes = new WeakMap<object, WeakMap<object, boolean>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: BearerTokenService,
    private readonly sessions: SessionStore,
    private readonly resources: ProtectedResources,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.isPublic(context.getClass(), context.getHandler())) return true;
    const request = httpRequestOf<GuardedRequest>(context);
    // RFC 9728: every 401 tells an OAuth client where to learn how to get a token for this route's resource.
    const resource = this.resources.forRoute(request.routeOptions?.url);
    const claims = request[CHECKED_BEFORE_BODY] ?? this.verifiedClaims(request, resource);
    const session = await this.sessions.find(claims.sid);
    if (!session || session.email !== claims.sub) {
      throw new UnauthorizedError(`The session of this bearer token has ended (logout or revocation). ${signInHint(resource)}`, 'session_ended', invalidChallenge(resource));
    }
    request[PRINCIPAL] = { email: session.email, session, claims };
    return true;
  }

  /**
   * An `onRequest` hook for a route that takes large bodies (the uploads: up to ~6.7 MiB, where others take 1 MiB):
   * the guard runs only after Fastify has read and parsed the body, so without it an anonymous caller had megabytes
   * received, checked and parsed before its 401. A token that cannot be good here (none, unreadable, forged,
   * expired, another resource) is refused now, with the guard's own answer; the session is still the guard's, which
   * takes these claims rather than verifying the signature a second time.
   */
  beforeBody(): onRequestHookHandler {
    return (request, _reply, done) => {
      try {
        const claims = this.verifiedClaims(request, this.resources.forRoute(request.routeOptions.url));
        (request as unknown as GuardedRequest)[CHECKED_BEFORE_BODY] = claims;
        done();
      } catch (err) {
        done(err as Error);
      }
    };
  }

  /** The claims of the request's bearer token if it is valid for `resource`; the 401 to answer otherwise. */
  private verifiedClaims(request: Pick<GuardedRequest, 'headers'>, resource: ProtectedResource): BearerClaims {
    const headerProblem = authorizationHeaderProblem(request.headers.authorization);
    if (headerProblem) {
      // A token was sent but not as RFC 6750 says: say what to fix rather than "missing" or "invalid".
      throw new UnauthorizedError(`Cannot read the bearer token: ${headerProblem}. ${signInHint(resource)}`, 'invalid_token', { 'WWW-Authenticate': unauthorizedChallenge(resource, true) });
    }
    const token = bearerFromHeader(request.headers.authorization);
    if (!token) {
      throw new UnauthorizedError(`A bearer token is required. ${signInHint(resource)}`, 'missing_token', { 'WWW-Authenticate': unauthorizedChallenge(resource, false) });
    }
    const claims = this.tokens.verify(token);
    if (!claims) throw new UnauthorizedError(`The bearer token is invalid or expired. ${signInHint(resource)}`, 'invalid_token', invalidChallenge(resource));
    if (!this.resources.covers(claims.aud, resource)) {
      // RFC 8707: a token is for the resource it was issued for; a Gmail token must not open Drive.
      // Said in OAuth's terms for every resource; one with a hint of its own adds it, for the person reading it.
      const also = resource.signInHint ? ` ${resource.signInHint}` : '';
      throw new UnauthorizedError(
        `This bearer token was issued for ${String(claims.aud)} and is not accepted here (${resource.identifier}). Get a token with resource=${resource.identifier} (or the whole service, ${this.resources.root.identifier}) and retry.${also}`,
        'invalid_token',
        invalidChallenge(resource),
      );
    }
    return claims;
  }

  private isPublic(controller: object, handler: object): boolean {
    let handlers = this.publicRoutes.get(controller);
    if (!handlers) this.publicRoutes.set(controller, (handlers = new WeakMap()));
    let isPublic = handlers.get(handler);
    if (isPublic === undefined) {
      isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler as never, controller as never]) === true;
      handlers.set(handler, isPublic);
    }
    return isPublic;
  }
}

/** The next step of a 401 on `resource`: its own (the MCP endpoint's: connect the application), else the browser sign-in. */
function signInHint(resource: ProtectedResource): string {
  return resource.signInHint ?? SIGN_IN_HINT;
}

/**
 * The challenge of a refusal of a token that was read but is not good here. A function at module level rather than a
 * closure built in canActivate: the accepted request (the hot path) then builds nothing it does not use.
 */
function invalidChallenge(resource: Parameters<typeof unauthorizedChallenge>[0]): Record<string, string> {
  return { 'WWW-Authenticate': unauthorizedChallenge(resource, true) };
}
