import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Revocation } from '../auth/revocation.js';
import { SealedValues } from '../common/sealed-values.js';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { AuditLog } from '../observability/audit-log.js';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';
import { AuthorizationOutcomes } from './authorization-outcomes.js';
import { AuthorizationRequest, requestedScopes } from './authorization-request.js';
import { AuthorizationStep, FlowCookies, sameDigest, signInTimeOf } from './authorization-step.js';
import { ClientApprovals } from './client-approvals.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { OAuthError } from './oauth-error.js';
import { runOnce } from './one-time-step.js';
import { grantedScopes } from './scope-request.js';

const RESUME_TTL_SECONDS = 300;
/** "Already used", honestly, as for the consent form (AuthorizationFlow's USED_FORM says why): the way on is a new authorization. */
const USED_TICKET = 'This sign-in link was already used: the sign-in already went on (a reload, or the back button), or an earlier attempt failed while the service\'s storage was unavailable and could not be undone. Go back to the application and connect again.';
/**
 * The person declined at Google in a browser that did not start the request (a /auth/google?handoff= link someone
 * sent them): nothing was shared, and the client's redirect URI is not visited from here (see declined()).
 */
const DECLINED_ELSEWHERE = 'You declined access on Google\'s page, so nothing was shared with the application. This request was started in another browser, so this page does not send you on to the application: if you want to connect it, start again from the application.';

type ResumeTicket = { req: AuthorizationRequest; email: string; signedInAt?: number; approved: boolean; jti: string };
/** The hop back from a Google sign-in the person declined (no one signed in). */
type DeclinedTicket = { req: AuthorizationRequest };

/**
 * The hop back from Google, step 3 of the authorization flow (AuthorizationFlow has steps 1 and 2). The Google
 * callback is auth's, which hands the request back through SignInContinuation; it cannot tell which browser sent the
 * request to /oauth/authorize (only our consent cookie, which it does not receive, can), so every outcome that depends
 * on the browser goes through a sealed ticket to our own /oauth/authorize/resume or /oauth/authorize/declined.
 */
@Injectable()
export class SignInReturn {
  private readonly base: string;

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly approvals: ClientApprovals,
    private readonly outcomes: AuthorizationOutcomes,
    private readonly sealed: SealedValues,
    private readonly markers: OneTimeMarkers,
    private readonly audit: AuditLog,
    private readonly revocations: Revocation,
    config: AppConfig,
  ) {
    this.base = config.values.publicUrl;
  }

  /**
   * After the Google sign-in (via SignInContinuation): the redirect back to the client with a code when the person
   * approved, else a hop back to us (to remember the user in this browser, or to ask for consent now).
   */
  async afterSignIn(signedIn: AuthorizationRequest, email: string, ip: string | undefined, grantedAtGoogle: readonly string[]): Promise<string> {
    // Travels with the request to the code (through a resume ticket or a consent page), so a revocation of the user
    // between this sign-in and the code exchange voids the code.
    const signedInAt = Date.now();
    const client = await this.clients.findById(signedIn.clientId, ip);
    if (!client) throw new OAuthError('invalid_request', 'The application was deleted while you signed in. Start again from the application.');
    // The token gets the requested scopes Google says the user has granted, and no others.
    const granted = grantedScopes(signedIn.scope, grantedAtGoogle);
    if (granted.length === 0) {
      // Shown to the person (who may not have approved this client yet), not redirected.
      throw new OAuthError('access_denied', 'Google reports that none of the access this application asked for was granted, so it gets nothing. Start again from the application and allow access on Google\'s page.', 403);
    }
    const request: AuthorizationRequest = { ...signedIn, grantedScope: granted.join(' ') };
    const scopes = requestedScopes(request);
    // An Allow pressed before the sign-in (request.approved) is not trusted here: the request reached this callback
    // through a link anyone can be sent (/auth/google?handoff=). It is checked, and recorded, at the resume hop,
    // which carries the consent cookie of the browser it was pressed in.
    const approved = client.firstParty || (await this.approvals.covers(email, client.clientId, scopes, request.resource, request.redirectUri));
    this.audit.record({ event: 'sign_in', outcome: 'success', user: email, ip, detail: { via: 'oauth', clientId: client.clientId } });
    if (approved && (client.firstParty || request.rememberedUser === email)) return this.outcomes.issueCode(request, email, signedInAt);
    const ticket = await this.sealed.seal('resume', { req: request, email, signedInAt, approved, jti: randomBytes(16).toString('base64url') } satisfies ResumeTicket, RESUME_TTL_SECONDS);
    return `${this.base}/oauth/authorize/resume?ticket=${encodeURIComponent(ticket)}`;
  }

  /** GET /oauth/authorize/resume: back from the Google sign-in. */
  async resume(ticketValue: unknown, cookies: FlowCookies, ip?: string): Promise<AuthorizationStep> {
    const ticket = await this.sealed.open<ResumeTicket>('resume', ticketValue);
    if (!ticket) throw new OAuthError('invalid_request', 'This sign-in link is not valid or expired (5 minutes). Start again from the application.');
    // Single use, except that a hop back S3 failed is given back, so reloading the link works (see runOnce).
    const resumed = await runOnce(this.markers, 'oauth-resume', ticket.jti, () => this.resumeClaimed(ticket, cookies, ip));
    if (resumed.used) throw new OAuthError('invalid_request', USED_TICKET);
    return resumed.value;
  }

  /** The hop back of a resume ticket that was just claimed. */
  private async resumeClaimed(ticket: ResumeTicket, cookies: FlowCookies, ip?: string): Promise<AuthorizationStep> {
    const client = await this.clients.findById(ticket.req.clientId, ip);
    if (!client) throw new OAuthError('invalid_request', 'The application was deleted while you signed in. Start again from the application.');
    // Allow pressed before the sign-in, in this very browser (its consent cookie): now recorded for the signed-in user.
    const { req } = ticket;
    const allowedHere = req.approved === true && cookies.csrf !== undefined && sameDigest(req.approvedIn, sha256Url(cookies.csrf));
    // Not when the user revoked since this sign-in (the Allow came before it): the revocation deleted the user's
    // approvals, and one written again now would let this client skip our page in this browser, which remembers the
    // user, from the next authorization on. The code below is still issued; the token endpoint refuses it.
    if (allowedHere && !(await this.revocations.revokedSince(ticket.email, signInTimeOf(ticket)))) {
      await this.approvals.approve(ticket.email, client.clientId, requestedScopes(req), req.resource, req.redirectUri);
      this.audit.record({ event: 'consent', outcome: 'success', user: ticket.email, ip, detail: { clientId: client.clientId } });
    }
    // An approval on record issues the code at once only in the browser that started the request; the link opened
    // in any other gets our page, naming the signed-in user, bound to that browser (no open redirector).
    const startedHere = cookies.csrf !== undefined && sameDigest(req.startedIn, sha256Url(cookies.csrf));
    if ((ticket.approved && startedHere) || allowedHere) return { kind: 'client', location: await this.outcomes.issueCode(req, ticket.email, signInTimeOf(ticket)), remember: ticket.email };
    return this.outcomes.consentPage(client, req, { email: ticket.email, signedInAt: signInTimeOf(ticket) }, cookies);
  }

  /**
   * After the person declined at Google (Cancel on Google's consent page, via SignInContinuation): the hop back to
   * us that reports access_denied to the client. A hop rather than the redirect itself: the sign-in may run in a
   * browser other than the one that sent the request to /oauth/authorize (the /auth/google?handoff= link can be sent
   * to anyone), and only our consent cookie, which the Google callback does not receive, tells which (see declined()).
   */
  async declinedAtGoogle(request: AuthorizationRequest): Promise<string> {
    const ticket = await this.sealed.seal('declined', { req: request } satisfies DeclinedTicket, RESUME_TTL_SECONDS);
    return `${this.base}/oauth/authorize/declined?ticket=${encodeURIComponent(ticket)}`;
  }

  /**
   * GET /oauth/authorize/declined: access_denied to the client at its redirect URI (RFC 6749 4.1.2.1), with its state
   * and iss, like the Deny on our consent page. The URI is the one /oauth/authorize validated, sealed in the ticket.
   * Only in the browser that sent the request (its consent cookie), or for a first-party client, whose redirect URIs
   * are the operator's: otherwise anyone could register a client whose redirect URI is their own site, press Allow in
   * their own browser and send the handoff link around, and every person who declined at Google would be sent on to
   * that site from ours (RFC 9700 4.11.2: no redirect to a client the person has not shown they trust). Not single
   * use: the ticket only repeats the same error to the same URI, in the browser that asked for it.
   */
  async declined(ticketValue: unknown, cookies: FlowCookies, ip?: string): Promise<AuthorizationStep> {
    const ticket = await this.sealed.open<DeclinedTicket>('declined', ticketValue);
    if (!ticket) throw new OAuthError('invalid_request', 'This link is not valid or expired (5 minutes). Nothing was shared with the application; start again from the application if you want to connect it.');
    const { req } = ticket;
    const client = await this.clients.findById(req.clientId, ip);
    if (!client) throw new OAuthError('invalid_request', 'The application was deleted while you signed in. Nothing was shared with it.');
    const startedHere = cookies.csrf !== undefined && sameDigest(req.startedIn, sha256Url(cookies.csrf));
    if (!client.firstParty && !startedHere) throw new OAuthError('access_denied', DECLINED_ELSEWHERE, 403);
    this.audit.record({ event: 'consent', outcome: 'denied', ip, detail: { clientId: req.clientId, at: 'google' } });
    return { kind: 'client', location: this.outcomes.deniedRedirect(req, 'The person declined access on Google\'s consent page.') };
  }
}
