import { Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import { isoTime } from '../common/iso-time.js';
import { AuditLog } from '../observability/audit-log.js';
import { AppConfig } from '../config/app-config.js';
import { CredentialsService } from '../credentials/credentials.service.js';
import { GoogleTokenClient } from '../credentials/google-token.client.js';
import { BearerTokenService } from '../sessions/bearer-token.service.js';
import type { Principal } from '../sessions/principal.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import type { Session } from '../sessions/session.js';
import { SessionStore } from '../sessions/session.store.js';
import { operatorDetail } from '../storage/storage.errors.js';
import type { GoogleIdentity } from './google-sign-in.js';
import { Revocation } from './revocation.js';
import type { SignInFlow } from './sign-in-flow.store.js';
import { markRefreshTokenUnstored } from './unstored-refresh-token.js';
import { verifyWholeServiceBearer } from './whole-service-bearer.js';

/** The callback's answer: what an API consumer needs to call the service. */
export interface SignInResult {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  email: string;
  session_id: string;
}

/** Sign-in completion, session description, logout and revocation. */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly credentials: CredentialsService,
    private readonly google: GoogleTokenClient,
    private readonly sessions: SessionStore,
    private readonly tokens: BearerTokenService,
    private readonly config: AppConfig,
    private readonly audit: AuditLog,
    private readonly revocation: Revocation,
    private readonly resources: ProtectedResources,
  ) {}

  /**
   * Stores what Google sent for the signed-in user. Answers `restart-with-consent` when Google sent no refresh
   * token and none that Google still honours is stored (once per flow): the caller then sends the person through
   * Google again with consent.
   */
  async storeGoogleGrant(identity: GoogleIdentity, flow: SignInFlow): Promise<'stored' | 'restart-with-consent'> {
    const { email } = identity;
    if (!identity.refreshToken) {
      const stored = await this.credentials.findStored(email);
      if (!stored?.refreshToken || !(await this.storedGrantWorks(email))) {
        if (!flow.retried) return 'restart-with-consent';
        this.logger.warn({ msg: 'Google sent no refresh token even with prompt=consent; access ends when the access token expires', event: 'sign_in', user: email });
      }
    }
    const g = this.config.values.google;
    await this.credentials
      .saveSignIn(email, {
        token: identity.accessToken,
        refreshToken: identity.refreshToken,
        expiry: new Date(Date.now() + identity.expiresInSeconds * 1000),
        scopes: identity.scopes,
        tokenUri: g.tokenUrl,
        clientId: g.clientId,
      })
      .catch((err: unknown) => {
        // Google's new refresh token may exist nowhere now: the caller makes the retry ask Google for another.
        throw identity.refreshToken ? markRefreshTokenUnstored(err) : err;
      });
    return 'stored';
  }

  /**
   * Whether the refresh token S3 holds still works, asked of Google once (a refresh). Google kills refresh tokens
   * without telling anyone (a password change, six months unused, too many tokens, an admin's policy, the app removed)
   * and sends a user it knows a new one only from its consent screen: kept, a dead one gave a bearer that ended with
   * every session of the user at the first refresh, an hour later. Google or S3 failing is not an answer: the stored
   * token is kept, as before this check, and nothing is deleted.
   */
  private async storedGrantWorks(email: string): Promise<boolean> {
    try {
      return (await this.credentials.checkStoredGrant(email)) === 'alive';
    } catch (err) {
      const reason = err instanceof DomainError ? `${err.error}: ${operatorDetail(err)}` : (err as Error)?.name;
      this.logger.warn({ msg: 'could not check the stored refresh token at sign-in; the sign-in keeps it', event: 'sign_in_grant_check', user: email, reason });
      return true;
    }
  }

  /**
   * A browser sign-in: stores what Google sent and opens a session with a bearer token carrying the scopes Google
   * says the user has granted; or `restart-with-consent` (see storeGoogleGrant). When Google sent a refresh token the
   * outcome is known up front, so the credentials write and the session writes run at once: a failure of either
   * answers an error and issues no bearer, and what the other wrote is harmless (a session nobody holds a bearer
   * for, or the user's credentials, which a retried sign-in writes again).
   */
  async signIn(identity: GoogleIdentity, flow: SignInFlow, ip?: string): Promise<SignInResult | 'restart-with-consent'> {
    const { email } = identity;
    let session: Session;
    if (identity.refreshToken) {
      const grant = this.storeGoogleGrant(identity, flow);
      const opened = this.sessions.create(email, this.tokens.ttlSeconds);
      opened.catch(() => undefined); // reported below, unless the grant's failure is answered first
      // The grant's failure first, and at once: it is the one that tells the retry to ask Google for a new refresh
      // token, and the session writes may have started later (after S3 went silent, a whole S3 timeout more).
      await grant;
      session = await opened;
    } else {
      if ((await this.storeGoogleGrant(identity, flow)) === 'restart-with-consent') return 'restart-with-consent';
      session = await this.sessions.create(email, this.tokens.ttlSeconds);
    }
    const issued = await this.tokens.issue(session, { scopes: identity.scopes });
    this.audit.record({ event: 'sign_in', outcome: 'success', user: email, ip, detail: { via: 'browser' } });
    return { access_token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn, email, session_id: session.sessionId };
  }

  /** The caller's session and the state of their Google grant (from the credentials cache: no S3 call when warm). */
  async describe(principal: Principal) {
    const stored = await this.credentials.findKnown(principal.email);
    return {
      email: principal.email,
      session_id: principal.session.sessionId,
      issued_at: isoTime(principal.claims.iat * 1000),
      expires_at: isoTime(principal.claims.exp * 1000),
      scopes: stored?.scopes ?? [],
      google: { expires_at: stored?.expiry ? isoTime(stored.expiry.getTime()) : null, has_refresh_token: Boolean(stored?.refreshToken) },
    };
  }

  /**
   * Ends the session of a live bearer token for the whole service; the user's credentials and other sessions stay.
   * Idempotent: a live token whose session has already ended (a retry after a lost answer) succeeds and changes
   * nothing. The session is reported ended only once S3 confirmed the delete; otherwise a 503 (the session stays
   * usable: retry).
   */
  async logout(token: string, ip?: string): Promise<void> {
    // As the bearer guard on every /auth/* route: a token for a narrower resource is 401 here too (its client ends
    // it at /oauth/revoke), so no resource token is accepted outside its resource.
    const claims = verifyWholeServiceBearer(this.tokens, this.resources, token, 'logout');
    const session = await this.sessions.find(claims.sid);
    if (!session || session.email !== claims.sub) {
      this.audit.record({ event: 'logout', outcome: 'noop', user: claims.sub, ip, detail: { reason: 'session already ended' } });
      return;
    }
    await this.sessions.end(session);
    this.audit.record({ event: 'logout', outcome: 'success', user: session.email, ip, detail: { sessionId: session.sessionId } });
  }

  /** Revokes everything of the token's user (see Revocation for the order and how a retry finishes it). */
  revoke(token: string, ip?: string): Promise<void> {
    return this.revocation.revoke(token, ip);
  }
}
