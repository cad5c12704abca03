import { ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../common/domain-error.js';
import { FlowReplies } from './flow-replies.js';
import { flowCookiesOf, mapFailure, mapPassportError, mayHaveLeftRefreshToken, redirectCapture, type SignInStep } from './google-sign-in.js';
import { GoogleOAuthStrategy, type GoogleIdentity } from './google.strategy.js';
import type { SignInFlow } from './sign-in-flow.store.js';
import { httpRequestOf } from '../common/http-request-of.js';
import { SignInContinuation } from './sign-in-continuation.js';

/** Where the guard leaves the callback's outcome for the handler. */
const SIGN_IN_STEP = Symbol('signInStep');
/** Where canActivate leaves the redirect hook for getResponse (both see only the request). */
const REDIRECTED = Symbol('redirected');
/** Where canActivate notes that the callback's flow serves an OAuth client (for handleRequest and the error page). */
const FOR_OAUTH = Symbol('forOAuth');
type CallbackRequest = FastifyRequest & { [SIGN_IN_STEP]?: SignInStep; [FOR_OAUTH]?: OAuthSignIn; authInfo?: { state?: SignInFlow } };

/** A callback whose sign-in serves an OAuth client's authorization; `restartUrl` asks the authorization server for it again. */
export interface OAuthSignIn {
  restartUrl?: string;
}

/** Set when this callback's sign-in serves an OAuth client (see GoogleCallbackGuard.canActivate); else undefined. */
export function oauthSignInOf(req: FastifyRequest): OAuthSignIn | undefined {
  return (req as CallbackRequest)[FOR_OAUTH];
}

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
  constructor(
    private readonly strategy: GoogleOAuthStrategy,
    private readonly continuation: SignInContinuation,
    private readonly replies: FlowReplies,
  ) {
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
    // Read from this browser's flow cookie before anything can fail (no S3 call, nothing claimed): a sign-in that
    // serves an OAuth client is told, on failure, to go back to that client, not to /auth/google, whose browser
    // sign-in ends on this service's token page (SignInErrorPageFilter).
    const oauth = await this.strategy.flows.pendingAuthorization(req.cookies, query.state);
    if (oauth) req[FOR_OAUTH] = { restartUrl: this.continuation.restartUrl(oauth) };
    if (oauth && query.error === 'access_denied') {
      // The person pressed Cancel on Google's consent page while signing in for an OAuth client. That is the
      // person's answer to the client's request, so the client is told (RFC 6749 4.1.2.1: access_denied at its
      // redirect URI), as our own consent page's Deny does; a page of ours would leave the client (an MCP client on
      // a loopback redirect URI) waiting forever. Every other failure of the callback (Google down or refusing the
      // code, S3 down, an unverified email) keeps the error page with "Try connecting again": there the person
      // still wants to connect, and a retry can succeed, while a redirect would end the client's attempt.
      // The redirect target is never read from this request: it is the client's redirect URI that /oauth/authorize
      // validated and sealed into this browser's flow cookie, and the flow is claimed first (one-time, as a callback
      // with a code is), so a forged callback, a replay or another browser's state gets the error page, no redirect.
      const claimed = await this.strategy.flows.claimDeclined(req, query.state);
      if ('reason' in claimed) throw mapFailure(claimed, true);
      req[SIGN_IN_STEP] = { kind: 'declined', flow: { ...claimed, oauth: claimed.oauth ?? oauth }, cookies: flowCookiesOf(req as never) };
      return true;
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
    const req = httpRequestOf<CallbackRequest>(context);
    const forOAuth = req[FOR_OAUTH] !== undefined;
    if (err) {
      // A refresh token Google may have issued is nowhere now, and Google sends a user it knows another only from
      // its consent screen: without one, the retry would keep what S3 holds (dead, when the person had removed the
      // grant at Google and this sign-in gave it again). As for a failed write of it (unstored-refresh-token.ts).
      if (mayHaveLeftRefreshToken(err)) this.replies.askConsentNext(context.switchToHttp().getResponse<FastifyReply>());
      throw mapPassportError(err, forOAuth);
    }
    if (!user) throw mapFailure(info, forOAuth);
    const flow = (info as { state?: SignInFlow } | undefined)?.state ?? { retried: false };
    req[SIGN_IN_STEP] = { kind: 'signed-in', identity: user as GoogleIdentity, flow, cookies: flowCookiesOf(req as never) };
    return user as T;
  }
}
