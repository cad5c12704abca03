import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import { Profile, Strategy } from 'passport-google-oauth20';
import { normalizeEmail } from '../common/email.js';
import { AppConfig } from '../config/app-config.js';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';
import { boundGoogleCalls, type OAuth2Transport } from './google-call-deadline.js';
import { tokenLifetimeSeconds } from '../credentials/token-lifetime.js';
import { SignInFlowStore } from './sign-in-flow.store.js';

/** What Google told us about the person who signed in. */
export interface GoogleIdentity {
  email: string;
  accessToken: string;
  refreshToken?: string;
  expiresInSeconds: number;
  scopes: string[];
}

/** Counts strategies in this process, so each service instance registers under a passport name of its own. */
let instances = 0;

/**
 * Google sign-in as a `@nestjs/passport` strategy (passport-google-oauth20: authorization code, PKCE S256, state,
 * offline access), with state and PKCE verifier in the encrypted flow cookie (SignInFlowStore).
 *
 * Passport's strategy registry is global to the process, and @nestjs/passport registers there; several service
 * instances share a process in the tests, each with its own config (Google URLs, cookie key). So each instance
 * renames its strategy to a name of its own (`google#N`) right after the mixin registered it under passport-google's
 * shared `google`, and the guard and GoogleSignIn authenticate with that name; the name is dropped when the app closes.
 */
@Injectable()
export class GoogleOAuthStrategy extends PassportStrategy(Strategy, undefined, 6) implements OnApplicationShutdown {
  /** The state store: cookie in, cookie out, one-time S3 marker per state. */
  readonly flows: SignInFlowStore;
  /** The scopes every sign-in asks for (GOOGLE_SCOPES). */
  readonly scopes: readonly string[];

  constructor(config: AppConfig, markers: OneTimeMarkers) {
    const { google: g, publicUrl, jwt } = config.values;
    const flows = new SignInFlowStore(new Uint8Array(jwt.flowCookieKey), markers, config.secureCookies, (jwt.acceptedFlowCookieKeys ?? []).map((k) => new Uint8Array(k)));
    super({
      clientID: g.clientId,
      clientSecret: g.clientSecret,
      callbackURL: `${publicUrl}/auth/google/callback`,
      authorizationURL: g.authUrl,
      tokenURL: g.tokenUrl,
      userProfileURL: g.userinfoUrl,
      scope: [...g.scopes],
      pkce: true,
      state: true,
      store: flows as never,
      passReqToCallback: true,
    });
    this.flows = flows;
    this.scopes = g.scopes;
    // The mixin registered this instance under the shared name `google`; move it to a name of its own at once
    // (synchronously, so no other instance's registration can interleave).
    passport.unuse(this.name);
    this.name = `google#${++instances}`;
    passport.use(this.name, this);
    const oauth2 = (this as unknown as { _oauth2: OAuth2Transport })._oauth2;
    // Access tokens go in the Authorization header, never in a URL that proxies and logs keep.
    oauth2.useAuthorizationHeaderforGET(true);
    boundGoogleCalls(oauth2, g.httpTimeoutMs);
  }

  /** Accepts only verified Google emails that are safe to use as keys (arity 6 with the request: see the mixin). */
  validate(_req: unknown, accessToken: string, refreshToken: string | undefined, params: Record<string, unknown>, profile: Profile): GoogleIdentity | [false, { reason: 'email_unverified' | 'email_unusable' }] {
    const raw = (profile as { _json?: Record<string, unknown> })._json ?? {};
    const email = normalizeEmail(raw.email ?? profile.emails?.[0]?.value);
    const verified = raw.email_verified === true || raw.email_verified === 'true';
    if (!verified) return [false, { reason: 'email_unverified' }];
    // Verified, but not an address the service can use as a user's key ({email}.json in S3): refused the same way
    // (403, nothing stored), with its own reason so the person is not told to verify an address Google has verified.
    if (!email) return [false, { reason: 'email_unusable' }];
    return {
      email,
      accessToken,
      // Typed a string, but it is whatever the token answer's JSON held: anything else counts as not sent, so the
      // sign-in asks Google again with consent instead of storing a refresh token nothing can use.
      refreshToken: typeof refreshToken === 'string' && refreshToken ? refreshToken : undefined,
      expiresInSeconds: tokenLifetimeSeconds(params.expires_in),
      scopes: typeof params.scope === 'string' ? params.scope.split(/\s+/).filter(Boolean) : [],
    };
  }

  /**
   * A closed app leaves nothing in passport's process-wide registry. Not onModuleDestroy: Nest runs that as SIGTERM
   * arrives, and sign-ins still come in during readiness' delay and the drain.
   */
  onApplicationShutdown(): void {
    passport.unuse(this.name);
  }
}
