import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { BearerClaims } from './bearer-token.service.js';
import type { Session } from './session.js';
import { httpRequestOf } from '../common/http-request-of.js';

/** The verified caller of a request, set by the bearer guard. */
export interface Principal {
  readonly email: string;
  readonly session: Session;
  readonly claims: BearerClaims;
}

/** The request property the guard fills. A symbol, so no header, query or body can spoof it. */
export const PRINCIPAL = Symbol('principal');

/** Hands a handler the verified caller: `@Principal() me: Principal`. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const request = httpRequestOf<{ [PRINCIPAL]?: Principal }>(ctx);
  const principal = request[PRINCIPAL];
  if (!principal) throw new Error('route has no bearer guard'); // a wiring bug, never a client error
  return principal;
});
