import type { ExecutionContext } from '@nestjs/common';

/**
 * The HTTP request a guard or a parameter decorator runs for: what `context.switchToHttp().getRequest()` returns.
 * Every guard and the principal decorator read it this way; the exception filters, which also need the reply and run
 * only on errors, keep `switchToHttp()`.
 *
 * Why not that call: Nest's switchToHttp() creates three closures and copies them onto the context every time it is
 * called, and an authenticated request passes through it three or four times (bearer guard, user isolation, scope
 * guard, the principal decorator), a few percent of its CPU (issue 14, target 1). The request is the first argument
 * of an HTTP execution context, which is where switchToHttp() reads it from; this service has only HTTP contexts.
 */
export function httpRequestOf<T>(context: Pick<ExecutionContext, 'getArgByIndex'>): T {
  return context.getArgByIndex<T>(0);
}
