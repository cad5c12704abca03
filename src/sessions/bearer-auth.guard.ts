import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { UnauthorizedError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { BearerTokenService } from './bearer-token.service.js';
import { Principal, PRINCIPAL } from './principal.js';
import { IS_PUBLIC } from '../common/public.decorator.js';
import { SessionStore } from './session.store.js';

const SIGN_IN_HINT = 'Sign in at /auth/google and send the access_token as "Authorization: Bearer <token>".';

/** Extracts the token of an `Authorization: Bearer ...` header, or undefined. */
export function bearerFromHeader(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length < 8) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : undefined;
}

/**
 * Deny by default: every route needs a valid bearer whose session still exists and belongs to the token's
 * subject, unless marked @Public(). On success the request carries the verified Principal.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly challenge: string;

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: BearerTokenService,
    private readonly sessions: SessionStore,
    config: AppConfig,
  ) {
    // RFC 9728: tells an OAuth client where to learn how to get a token for this resource.
    this.challenge = `Bearer resource_metadata="${config.values.publicUrl}/.well-known/oauth-protected-resource"`;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; [PRINCIPAL]?: Principal }>();
    const token = bearerFromHeader(request.headers.authorization);
    if (!token) throw new UnauthorizedError(`A bearer token is required. ${SIGN_IN_HINT}`, 'missing_token', { 'WWW-Authenticate': this.challenge });
    const invalid = { 'WWW-Authenticate': `${this.challenge}, error="invalid_token"` };
    const claims = this.tokens.verify(token);
    if (!claims) throw new UnauthorizedError(`The bearer token is invalid or expired. ${SIGN_IN_HINT}`, 'invalid_token', invalid);
    const session = await this.sessions.find(claims.sid);
    if (!session || session.email !== claims.sub) {
      throw new UnauthorizedError(`The session of this bearer token has ended (logout or revocation). ${SIGN_IN_HINT}`, 'session_ended', invalid);
    }
    request[PRINCIPAL] = { email: session.email, session, claims };
    return true;
  }
}
