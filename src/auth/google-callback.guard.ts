import { ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { BadRequestError } from '../common/domain-error.js';
import { flowCookiesOf, mapFailure, mapPassportError, redirectCapture, type SignInStep } from './google-sign-in.js';
import { GoogleOAuthStrategy, type GoogleIdentity } from './google.strategy.js';
import type { SignInFlow } from './sign-in-flow.store.js';
import { httpRequestOf } from '../common/http-request-of.js';

/** Where the guard leaves the callback's outcome for the handler. */
const SIGN_IN_STEP = Symbol('signInStep');
/** Where canActivate leaves the redirect hook for getResponse (both see only the request). */
const REDIRECTED = Symbol('redirected');
type CallbackRequest = FastifyRequest & { [SIGN_IN_STEP]?: SignInStep; authInfo?: { state?: SignInFlow } };

/** The outcome of the Google callback, as GoogleCallbackGuard left it on the request. */
export function signInStepOf(req: FastifyRequest): SignInStep {
  const step = (req as CallbackRequest)[SIGN_IN_STEP];
  if (!step) throw new Error('GoogleCallbackGuard did not run on this route');
  return step;
}

/**
 * `@nestjs/passport`'s AuthGuard on Google's callback: checks the state against the flow cookie, exchanges the code
 * with the PKCE verifier and reads the verified email, through this instance's GoogleOAuthStrategy (its name of its
 * own is given as the default strategy). Three adaptations: the request's shape is checked first (so passport never
 * mistakes a bare callback for a new sign-in), passport's redirect is captured because Fastify's reply is not the
 * Express response it writes to, and every failure becomes a domain error with its next step.
 */
@Injectable()
export class GoogleCallbackGuard extends AuthGuard() {
  constructor(strategy: GoogleOAuthStrategy) {
    super({ defaultStrategy: strategy.name, session: false });
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = httpRequestOf<CallbackRequest>(context);
    const query = (req.query ?? {}) as Record<string, unknown>;
    if (typeof query.code !== 'string' && typeof query.error !== 'string') {
      throw new BadRequestError('The callback needs "code" and "state" from Google. Start the sign-in at /auth/google.', 'code_missing');
    }
    if (typeof query.state !== 'string' || query.state === '') {
      throw new BadRequestError('The callback has no "state". Start the sign-in again at /auth/google.', 'state_missing');
    }
    // Passport settles through handleRequest, or by redirecting (never expected here, since `code` or `error` is
    // present); a redirect ends passport without settling the guard's own promise, so the two are raced.
    const redirected = new Promise<true>((resolve) => {
      (req as unknown as { [k: symbol]: unknown })[REDIRECTED] = (step: SignInStep) => {
        req[SIGN_IN_STEP] = step;
        resolve(true);
      };
    });
    return Promise.race([super.canActivate(context) as Promise<boolean>, redirected]);
  }

  getResponse<T = unknown>(context: ExecutionContext): T {
    const req = httpRequestOf<CallbackRequest>(context);
    const onRedirect = (req as unknown as { [k: symbol]: (step: SignInStep) => void })[REDIRECTED];
    return redirectCapture(req as never, onRedirect) as T;
  }

  override handleRequest<T = GoogleIdentity>(err: unknown, user: unknown, info: unknown, context: ExecutionContext): T {
    if (err) throw mapPassportError(err);
    if (!user) throw mapFailure(info);
    const req = httpRequestOf<CallbackRequest>(context);
    const flow = (info as { state?: SignInFlow } | undefined)?.state ?? { retried: false };
    req[SIGN_IN_STEP] = { kind: 'signed-in', identity: user as GoogleIdentity, flow, cookies: flowCookiesOf(req as never) };
    return user as T;
  }
}
