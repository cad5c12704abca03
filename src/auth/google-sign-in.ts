import { Injectable, Logger } from '@nestjs/common';
import passport from 'passport';
import { BadRequestError, DomainError, ForbiddenError, UnauthorizedError, UpstreamError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { GoogleCallTimeout } from './google-call-deadline.js';
import { GoogleOAuthStrategy, type GoogleIdentity } from './google.strategy.js';
import { FLOW_COOKIES_OUT, FlowCookie, FlowRejection, PendingAuthorization, SignInFlow } from './sign-in-flow.store.js';
import { SignInHandoff } from './sign-in-handoff.js';
import { operatorDetail } from '../storage/storage.errors.js';

export type { GoogleIdentity } from './google.strategy.js';

export type SignInStep =
  | { kind: 'redirect'; url: string; cookies: FlowCookie[] }
  | { kind: 'signed-in'; identity: GoogleIdentity; flow: SignInFlow; cookies: FlowCookie[] }
  /** The person pressed Cancel at Google during an OAuth client's sign-in; `flow` is claimed and carries the request. */
  | { kind: 'declined'; flow: SignInFlow & { oauth: PendingAuthorization }; cookies: FlowCookie[] };

export interface StartOptions {
  loginHint?: string;
  consent: boolean;
  retried: boolean;
  oauth?: PendingAuthorization;
  /** The browser's cookies: its oldest unfinished flows are ended when it starts too many (SignInFlowStore). */
  cookies?: Record<string, string | undefined>;
}

type PassportRequest = { [key: string]: unknown; [FLOW_COOKIES_OUT]?: FlowCookie[] };

/**
 * What passport writes its redirect to. Passport expects a Node/Express response (statusCode, setHeader, end) and
 * Fastify's reply is not one, so the redirect is captured as a value and sent by FlowReplies with the flow cookies.
 */
export function redirectCapture(req: PassportRequest, onRedirect: (step: SignInStep & { kind: 'redirect' }) => void) {
  let location = '';
  return {
    statusCode: 302,
    setHeader(name: string, value: string) {
      if (name.toLowerCase() === 'location') location = value;
    },
    end: () => onRedirect({ kind: 'redirect', url: location, cookies: req[FLOW_COOKIES_OUT] ?? [] }),
  };
}

/** The flow cookies the state store left on the request (set, or replaced by "used"). */
export function flowCookiesOf(req: PassportRequest): FlowCookie[] {
  return req[FLOW_COOKIES_OUT] ?? [];
}

/**
 * Starts Google sign-ins (the first one and the restart with prompt=consent) through the instance's
 * GoogleOAuthStrategy, and marks finished flows spent. The callback itself runs in GoogleCallbackGuard.
 */
@Injectable()
export class GoogleSignIn {
  private readonly logger = new Logger('SignIn');

  private readonly handoffs: SignInHandoff;
  private readonly publicUrl: string;

  constructor(
    private readonly strategy: GoogleOAuthStrategy,
    config: AppConfig,
  ) {
    const { flowCookieKey, acceptedFlowCookieKeys } = config.values.jwt;
    this.handoffs = new SignInHandoff(new Uint8Array(flowCookieKey), (acceptedFlowCookieKeys ?? []).map((k) => new Uint8Array(k)));
    this.publicUrl = config.values.publicUrl.replace(/\/$/, '');
  }

  /** Where `/oauth/authorize` sends a browser that must sign in first: /auth/google with the request sealed (see SignInHandoff). */
  async handoffUrl(request: PendingAuthorization): Promise<string> {
    return `${this.publicUrl}/auth/google?${new URLSearchParams({ handoff: await this.handoffs.seal(request) })}`;
  }

  /** The OAuth client's request a handoff link carries; 400 when it is not one of ours or has expired. */
  async openHandoff(sealed: unknown): Promise<PendingAuthorization> {
    const request = typeof sealed === 'string' ? await this.handoffs.open(sealed) : undefined;
    if (!request) {
      throw new BadRequestError('This sign-in link is not valid or has expired (links work for 10 minutes). Go back to the application that sent you here and connect again.', 'handoff_invalid');
    }
    return request;
  }

  /** Builds the redirect to Google's consent page, with a fresh state + PKCE flow bound to this browser. */
  async start(opts: StartOptions): Promise<SignInStep> {
    // A request of its own: passport treats any request carrying `code` as a callback, and a restart happens
    // while handling one.
    const fresh: PassportRequest = { query: {}, body: {}, headers: {}, cookies: opts.cookies ?? {} };
    // An OAuth client's scopes are asked for on top of the configured ones; Google then asks only for what is new.
    const wanted = opts.oauth?.scope?.split(' ').filter(Boolean) ?? [];
    return this.run(fresh, {
      ...(wanted.length ? { scope: [...new Set([...this.strategy.scopes, ...wanted])] } : {}),
      accessType: 'offline',
      includeGrantedScopes: true,
      loginHint: opts.loginHint,
      prompt: opts.consent ? 'consent' : undefined,
      state: { loginHint: opts.loginHint, retried: opts.retried, oauth: opts.oauth } satisfies SignInFlow,
    });
  }

  /**
   * Marks a finished callback's flow spent, so a replay (a copied cookie and URL) is refused before its code reaches
   * Google again. Best effort: the sign-in already succeeded, and Google refuses a spent code anyway. True when S3
   * confirmed the mark (only then is there anything for reopen() to undo).
   */
  async spend(flow: SignInFlow): Promise<boolean> {
    if (!flow.state) return false;
    return this.strategy.flows.spend(flow.state).then(
      () => true,
      (err: unknown) => {
        this.logger.warn({ msg: 'could not mark the sign-in state spent; a replay will be refused by Google instead', error: operatorDetail(err) });
        return false;
      },
    );
  }

  /**
   * Undoes spend() after the sign-in failed while its flow was being marked spent, so the same browser's retry is
   * told what really happened (Google refuses the spent code) rather than "already used". Best effort: otherwise
   * the retry is refused as a replay, which asks for a new sign-in too.
   */
  async reopen(flow: SignInFlow): Promise<void> {
    if (!flow.state || !flow.claimant) return;
    await this.strategy.flows.reopen(flow.state, flow.claimant).catch((err: unknown) =>
      this.logger.warn({ msg: 'could not reopen the sign-in state after a failed sign-in; a retry is refused as a replay', error: operatorDetail(err) }),
    );
  }

  /**
   * Runs the strategy to its redirect. No timer of its own: each call to Google is bounded (see boundGoogleCalls)
   * and each S3 call by the storage layer, so a stall is reported by the dependency that stalled.
   */
  private run(req: PassportRequest, options: Record<string, unknown>): Promise<SignInStep> {
    return new Promise<SignInStep>((resolve, reject) => {
      const callback = (err: unknown, user: GoogleIdentity | false, info: unknown) => {
        // A start never completes a sign-in: passport answered without redirecting, which only an error explains.
        reject(err ? mapPassportError(err) : user ? new Error('passport signed in while starting a sign-in') : mapFailure(info));
      };
      passport.authenticate(this.strategy.name, { ...options, session: false }, callback)(req as never, redirectCapture(req, resolve) as never, (err?: unknown) =>
        reject(err ?? new Error('passport did not finish the sign-in')),
      );
    });
  }
}

/**
 * Where the person starts over, in a callback error's message: the browser sign-in, or, when the sign-in served an
 * OAuth client's authorization (`forOAuth`), that application, since /auth/google would end on this service's token
 * page instead of back in the application (see SignInErrorPageFilter).
 */
function again(forOAuth: boolean): string {
  return forOAuth ? ' from the application you were connecting' : ' at /auth/google';
}

/** Why the callback did not sign anyone in, as a domain error (a 4xx with the next step). */
export function mapFailure(info: unknown, forOAuth = false): Error {
  const i = (info ?? {}) as Partial<FlowRejection> & { reason?: string; message?: string };
  if (i.reason === 'state_missing' || i.reason === 'state_unknown' || i.reason === 'state_replayed') {
    // The store's messages name /auth/google; a flow known to serve an application gets the same facts, pointed back there.
    const message = forOAuth ? `This sign-in link was already used (a reload, or the back button). Start again${again(true)}.` : i.message;
    return new BadRequestError(message ?? 'Invalid state. Start again at /auth/google.', i.reason);
  }
  if (i.reason === 'email_unverified') {
    return new ForbiddenError(`Google says this account's email address is not verified. Verify it with Google, then sign in again${again(forOAuth)}.`, 'email_unverified');
  }
  if (i.reason === 'email_unusable') {
    return new ForbiddenError(`This Google account's email address cannot be used with this service (only letters, digits and . _ + - are supported, without ".."). Sign in with another account${again(forOAuth)}.`, 'email_unusable');
  }
  return new UnauthorizedError(`Access was declined on Google's consent page. To use the service, sign in again${again(forOAuth)} and allow access.`, 'access_denied', {});
}

/**
 * The plain Errors passport-oauth2 and passport-google-oauth20 raise when Google answered, but with nothing usable: a
 * token answer without an access token (a 2xx or a redirect, which node-oauth counts as success and does not follow)
 * or a profile that is not JSON. Google's fault, not a bug of ours: 502 like the other failed answers
 * (test/e2e/google-redirects.e2e.spec.ts).
 */
function isUnusableGoogleAnswer(e: { name?: string; message?: string }): boolean {
  return e?.name === 'Error' && (e.message === 'Failed to obtain access token' || e.message === 'Failed to parse user profile');
}

/**
 * Whether a callback that failed with this passport error may have left a refresh token Google issued unstored:
 * the code exchange succeeded (the userinfo call failed after it), or its outcome is unknown (no answer, cut off,
 * or an answer that could not be read). Not when Google refused the code or answered the exchange with an HTTP
 * error: then nothing was issued.
 */
export function mayHaveLeftRefreshToken(err: unknown): boolean {
  const e = err as { name?: string; message?: string; oauthError?: { statusCode?: unknown } } | undefined;
  if (e?.name === 'UserInfoError' || e?.name === 'GooglePlusAPIError' || e?.message === 'Failed to fetch user profile' || e?.message === 'Failed to parse user profile') return true;
  if (e?.name === 'InternalOAuthError') return typeof e.oauthError?.statusCode !== 'number';
  return isUnusableGoogleAnswer(e ?? {});
}

/** Passport's and the strategy's errors as domain errors: invalid_grant 400, Google 502, S3 503 (its own). */
export function mapPassportError(err: unknown, forOAuth = false): Error {
  const e = err as { name?: string; code?: string; message?: string; oauthError?: unknown };
  if (e?.name === 'TokenError' && e.code === 'invalid_grant') {
    // Google refuses the code itself: spent, expired, or issued for another sign-in (an attacker's code fails the
    // PKCE check this way). The caller's request is at fault, not Google: a 4xx with the way forward.
    return new BadRequestError(
      `Google refused this authorization code: it was already used, has expired, or belongs to another sign-in. Nothing was stored; start again${again(forOAuth)}.`,
      'invalid_grant',
    );
  }
  if (e?.name === 'TokenError') {
    return new UpstreamError(
      `Google refused to exchange the authorization code (${e.code ?? 'error'}). Nothing was stored; start again${again(forOAuth)} in a moment.`,
      'code_exchange_failed',
    );
  }
  if (e?.name === 'AuthorizationError') {
    // Only an OAuth error code is repeated (RFC 6749 error values are [a-z_]): the callback URL is anyone's to write,
    // and our page must not show a stranger's sentence as if Google had said it.
    const code = /^[a-z_]{1,64}$/.test(e.code ?? '') ? e.code : 'error';
    return new BadRequestError(`Google returned an error on the consent page (${code}). Start again${again(forOAuth)}.`, 'authorization_error');
  }
  if (e?.oauthError instanceof GoogleCallTimeout) {
    return new UpstreamError(
      `Google did not answer within ${e.oauthError.timeoutMs} ms while completing the sign-in. Nothing was stored; start again${again(forOAuth)} in a moment.`,
      'google_timeout',
    );
  }
  if (e?.name === 'InternalOAuthError' || e?.name === 'GooglePlusAPIError' || e?.name === 'UserInfoError' || isUnusableGoogleAnswer(e)) {
    return new UpstreamError(`Google could not be reached, or answered with an error, while completing the sign-in. Nothing was stored; start again${again(forOAuth)} in a moment.`, 'google_unavailable');
  }
  if (err instanceof DomainError) return err; // S3 (the state marker) reports itself: 503 naming S3
  return err instanceof Error ? err : new Error(String(err));
}
