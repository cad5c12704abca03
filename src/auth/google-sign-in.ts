import { Injectable, Logger } from '@nestjs/common';
import { Passport } from 'passport';
import { Profile, Strategy as GoogleStrategy, VerifyCallback } from 'passport-google-oauth20';
import { BadRequestError, DomainError, ForbiddenError, UnauthorizedError, UpstreamError } from '../common/domain-error.js';
import { normalizeEmail } from '../common/email.js';
import { AppConfig } from '../config/app-config.js';
import { boundGoogleCalls, GoogleCallTimeout, type OAuth2Transport } from './google-call-deadline.js';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';
import { FLOW_COOKIES_OUT, FlowCookie, FlowRejection, PendingAuthorization, SignInFlow, SignInFlowStore } from './sign-in-flow.store.js';

/** What Google told us about the person who signed in. */
export interface GoogleIdentity {
  email: string;
  accessToken: string;
  refreshToken?: string;
  expiresInSeconds: number;
  scopes: string[];
}

export type SignInStep =
  | { kind: 'redirect'; url: string; cookies: FlowCookie[] }
  | { kind: 'signed-in'; identity: GoogleIdentity; flow: SignInFlow; cookies: FlowCookie[] };

export interface StartOptions {
  loginHint?: string;
  consent: boolean;
  retried: boolean;
  oauth?: PendingAuthorization;
}

type PassportRequest = { [key: string]: unknown; [FLOW_COOKIES_OUT]?: FlowCookie[] };

/**
 * Google sign-in with passport-google-oauth20 (authorization code, PKCE S256, state, offline access).
 * Each service instance has its own Passport object instead of passport's global registry (which
 * @nestjs/passport's strategy mixin uses), so several instances can live in one process; and passport's
 * outcome (redirect, success, fail, error) is turned into a value here, because its redirect writes to a
 * Node response that Fastify's reply is not.
 */
@Injectable()
export class GoogleSignIn {
  private readonly passport = new Passport();
  private readonly logger = new Logger('SignIn');
  private readonly flows: SignInFlowStore;
  private readonly scopes: readonly string[];

  constructor(config: AppConfig, markers: OneTimeMarkers) {
    const { google: g, publicUrl, jwt } = config.values;
    this.scopes = g.scopes;
    const strategy = new GoogleStrategy(
      {
        clientID: g.clientId,
        clientSecret: g.clientSecret,
        callbackURL: `${publicUrl}/auth/google/callback`,
        authorizationURL: g.authUrl,
        tokenURL: g.tokenUrl,
        userProfileURL: g.userinfoUrl,
        scope: g.scopes,
        pkce: true,
        state: true,
        store: (this.flows = new SignInFlowStore(new Uint8Array(jwt.flowCookieKey), markers)),
        passReqToCallback: true,
      } as never,
      toIdentity as never,
    );
    const oauth2 = (strategy as unknown as { _oauth2: OAuth2Transport })._oauth2;
    // Access tokens go in the Authorization header, never in a URL that proxies and logs keep.
    oauth2.useAuthorizationHeaderforGET(true);
    boundGoogleCalls(oauth2, g.httpTimeoutMs);
    this.passport.use('google', strategy as never);
  }

  /** Builds the redirect to Google's consent page, with a fresh state + PKCE flow bound to this browser. */
  async start(opts: StartOptions): Promise<SignInStep> {
    // A request of its own: passport treats any request carrying `code` as a callback, and a restart happens
    // while handling one.
    const fresh: PassportRequest = { query: {}, body: {}, headers: {} };
    // An OAuth client's scopes are asked for on top of the configured ones; Google then asks only for what is new.
    const wanted = opts.oauth?.scope?.split(' ').filter(Boolean) ?? [];
    return this.run(fresh, {
      ...(wanted.length ? { scope: [...new Set([...this.scopes, ...wanted])] } : {}),
      accessType: 'offline',
      includeGrantedScopes: true,
      loginHint: opts.loginHint,
      prompt: opts.consent ? 'consent' : undefined,
      state: { loginHint: opts.loginHint, retried: opts.retried, oauth: opts.oauth } satisfies SignInFlow,
    });
  }

  /** Completes the callback: checks state, exchanges the code (with the PKCE verifier), reads the verified email. */
  async finish(req: PassportRequest): Promise<SignInStep> {
    return this.run(req, {});
  }

  /**
   * Marks a finished callback's flow spent, so a replay (a copied cookie and URL) is refused before its code reaches
   * Google again. Best effort: the sign-in already succeeded, and Google refuses a spent code anyway.
   */
  async spend(flow: SignInFlow): Promise<void> {
    if (!flow.state) return;
    await this.flows.spend(flow.state).catch((err: unknown) =>
      this.logger.warn({ msg: 'could not mark the sign-in state spent; a replay will be refused by Google instead', error: (err as Error)?.message }),
    );
  }

  /**
   * Runs passport and turns its outcome into a value. No timer of its own: each call to Google is bounded (see
   * boundGoogleCalls) and each S3 call by the storage layer, so a stall is reported by the dependency that stalled.
   */
  private run(req: PassportRequest, options: Record<string, unknown>): Promise<SignInStep> {
    return new Promise<SignInStep>((resolve, reject) => {
      const cookies = () => req[FLOW_COOKIES_OUT] ?? [];
      let location = '';
      const settle = (fn: () => void) => {
        try {
          fn();
        } catch (err) {
          reject(err);
        }
      };
      const response = {
        statusCode: 302,
        setHeader(name: string, value: string) {
          if (name.toLowerCase() === 'location') location = value;
        },
        end: () => settle(() => resolve({ kind: 'redirect', url: location, cookies: cookies() })),
      };
      const callback = (err: unknown, user: GoogleIdentity | false, info: unknown) =>
        settle(() => {
          if (err) throw mapPassportError(err);
          if (!user) throw mapFailure(info);
          resolve({ kind: 'signed-in', identity: user, flow: (info as { state?: SignInFlow })?.state ?? { retried: false }, cookies: cookies() });
        });
      this.passport.authenticate('google', { ...options, session: false }, callback)(req as never, response as never, (err?: unknown) =>
        settle(() => reject(err ?? new Error('passport did not finish the sign-in'))),
      );
    });
  }
}

/** The strategy's verify callback: accept only verified Google emails that are safe to use as keys. */
function toIdentity(_req: unknown, accessToken: string, refreshToken: string | undefined, params: Record<string, unknown>, profile: Profile, done: VerifyCallback): void {
  const raw = (profile as { _json?: Record<string, unknown> })._json ?? {};
  const email = normalizeEmail(raw.email ?? profile.emails?.[0]?.value);
  const verified = raw.email_verified === true || raw.email_verified === 'true';
  if (!email || !verified) {
    done(null, false, { reason: 'email_unverified' } as never);
    return;
  }
  const expiresIn = Number(params.expires_in ?? 3600);
  done(null, {
    email,
    accessToken,
    refreshToken: refreshToken || undefined,
    expiresInSeconds: Number.isFinite(expiresIn) ? expiresIn : 3600,
    scopes: typeof params.scope === 'string' ? params.scope.split(/\s+/).filter(Boolean) : [],
  } satisfies GoogleIdentity as never);
}

function mapFailure(info: unknown): Error {
  const i = (info ?? {}) as Partial<FlowRejection> & { reason?: string; message?: string };
  if (i.reason === 'state_missing' || i.reason === 'state_unknown' || i.reason === 'state_replayed') {
    return new BadRequestError(i.message ?? 'Invalid state. Start again at /auth/google.', i.reason);
  }
  if (i.reason === 'email_unverified') {
    return new ForbiddenError('Google says this account\'s email address is not verified. Verify it with Google, then sign in again at /auth/google.', 'email_unverified');
  }
  return new UnauthorizedError('Access was declined on Google\'s consent page. To use the service, sign in again at /auth/google and allow access.', 'access_denied', {});
}

function mapPassportError(err: unknown): Error {
  const e = err as { name?: string; code?: string; message?: string; oauthError?: unknown };
  if (e?.name === 'TokenError' && e.code === 'invalid_grant') {
    // Google refuses the code itself: spent, expired, or issued for another sign-in (an attacker's code fails the
    // PKCE check this way). The caller's request is at fault, not Google: a 4xx with the way forward.
    return new BadRequestError(
      'Google refused this authorization code: it was already used, has expired, or belongs to another sign-in. Nothing was stored; start again at /auth/google.',
      'invalid_grant',
    );
  }
  if (e?.name === 'TokenError') {
    return new UpstreamError(
      `Google refused to exchange the authorization code (${e.code ?? 'error'}). Nothing was stored; start again at /auth/google in a moment.`,
      'code_exchange_failed',
    );
  }
  if (e?.name === 'AuthorizationError') {
    return new BadRequestError(`Google returned an error on the consent page (${e.code ?? 'error'}). Start again at /auth/google.`, 'authorization_error');
  }
  if (e?.oauthError instanceof GoogleCallTimeout) {
    return new UpstreamError(
      `Google did not answer within ${e.oauthError.timeoutMs} ms while completing the sign-in. Nothing was stored; start again at /auth/google in a moment.`,
      'google_timeout',
    );
  }
  if (e?.name === 'InternalOAuthError' || e?.name === 'GooglePlusAPIError' || e?.name === 'UserInfoError') {
    return new UpstreamError('Google could not be reached, or answered with an error, while completing the sign-in. Nothing was stored; start again at /auth/google in a moment.', 'google_unavailable');
  }
  if (err instanceof DomainError) return err; // S3 (the state marker) reports itself: 503 naming S3
  return err instanceof Error ? err : new Error(String(err));
}
