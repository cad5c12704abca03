import { Injectable } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { AuditLog } from '../observability/audit-log.js';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';
import { AuthorizationCodes } from './authorization-codes.js';
import { AuthorizationRequest, AuthorizationRequestError, DEFAULT_ACCESS, errorRedirect, parseAuthorizationRequest, pendingPart, requestedScopes } from './authorization-request.js';
import { ClientApprovals } from './client-approvals.js';
import { renderConsentPage } from './consent-page.js';
import { isClientIdUrl } from './client-metadata-document.js';
import { OAuthClient } from './oauth-client.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { OAuthError } from './oauth-error.js';
import { SealedValues } from '../common/sealed-values.js';
import { describeScope } from './scope-descriptions.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { grantedScopes } from './scope-request.js';
import { runOnce } from './one-time-step.js';

/** What the browser is sent next. */
export type AuthorizationStep =
  /** Our consent page (HTML). `csrf` is the browser's consent cookie value to set when it had none. */
  | { kind: 'consent'; html: string; csrf?: string }
  /** On to the Google sign-in, carrying the request; `csrf` as for the consent page. */
  | { kind: 'sign-in'; request: AuthorizationRequest; csrf?: string }
  /** Back to the client (a code or an error); `remember` names the user to remember in this browser. */
  | { kind: 'client'; location: string; remember?: string };

/** The browser's cookies the authorization flow reads. */
export interface FlowCookies {
  /** Random per-browser value the consent form is bound to (HttpOnly, SameSite=Lax). */
  csrf?: string;
  /** Sealed name of the user who last approved a client in this browser (HttpOnly, SameSite=Lax). */
  rememberedUser?: string;
}

const CONSENT_FORM_TTL_SECONDS = 600;
const RESUME_TTL_SECONDS = 300;
/**
 * "Already used", honestly: a step that succeeded (a reload, the back button, a double click) or, rarely, one that
 * failed on S3 while S3 also refused to give its claim back (runOnce). Either way the way on is a new authorization.
 */
const USED_FORM = 'This consent form was already submitted: your choice was already received, or an earlier attempt failed while the service\'s storage was unavailable and could not be undone. Go back to the application and connect again.';
const USED_TICKET = 'This sign-in link was already used: the sign-in already went on (a reload, or the back button), or an earlier attempt failed while the service\'s storage was unavailable and could not be undone. Go back to the application and connect again.';
/**
 * The person declined at Google in a browser that did not start the request (a /auth/google?handoff= link someone
 * sent them): nothing was shared, and the client's redirect URI is not visited from here (see declined()).
 */
const DECLINED_ELSEWHERE = 'You declined access on Google\'s page, so nothing was shared with the application. This request was started in another browser, so this page does not send you on to the application: if you want to connect it, start again from the application.';
/** How long a browser remembers who signed in on it, to skip the consent page for clients that user approved. */
export const REMEMBER_USER_SECONDS = 30 * 24 * 3600;

/** `signedInAt`: when `email` signed in with Google (set with it); a revocation after it voids what this issues. */
type ConsentForm = { req: AuthorizationRequest; email?: string; signedInAt?: number; b: string; jti: string };
type ResumeTicket = { req: AuthorizationRequest; email: string; signedInAt?: number; approved: boolean; jti: string };
/** The hop back from a Google sign-in the person declined (no one signed in). */
type DeclinedTicket = { req: AuthorizationRequest };

/**
 * When a sealed form or ticket's sign-in happened. Those sealed before the time was recorded (in flight across a
 * deploy, minutes at most) count as signed in at the epoch: refused if the user has ever revoked, else as before.
 */
const signInTimeOf = (sealed: { signedInAt?: number }) => (typeof sealed.signedInAt === 'number' ? sealed.signedInAt : 0);

/**
 * The authorization endpoint's flow with consent of our own (the MCP authorization spec's rule for a server that
 * fronts another authorization server with one static client; RFC 9700 section 4.11.2 for errors):
 *
 * 1. `/oauth/authorize` validates. A first-party client goes straight to the Google sign-in; so does a browser whose
 *    remembered-user cookie names someone who already approved this client for these scopes, for this resource or
 *    one containing it (ClientApprovals). Anyone else sees our consent page first, naming the client, the redirect
 *    host, the access and the resource.
 * 2. Allow (a POST bound to the browser's CSRF cookie and to this one request, single use) goes on to Google; Deny
 *    returns access_denied to the client.
 * 3. After the Google sign-in the code is issued only if the person pressed Allow in this flow, or the signed-in
 *    user has an approval on record covering the request; otherwise the consent page is shown again, now naming
 *    the signed-in user. So no code reaches a redirect URI unless someone pressed Allow on a page naming its host.
 */
@Injectable()
export class AuthorizationFlow {
  private readonly issuer: string;
  private readonly base: string;

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly approvals: ClientApprovals,
    private readonly codes: AuthorizationCodes,
    private readonly sealed: SealedValues,
    private readonly markers: OneTimeMarkers,
    private readonly audit: AuditLog,
    private readonly config: AppConfig,
    private readonly resources: ProtectedResources,
  ) {
    this.issuer = config.values.jwt.issuer;
    this.base = config.values.publicUrl;
  }

  /** GET /oauth/authorize. Throws OAuthError for problems shown on our error page, never redirected. */
  async start(query: Record<string, unknown>, cookies: FlowCookies, ip?: string): Promise<AuthorizationStep> {
    const clientId = typeof query.client_id === 'string' && query.client_id.length <= 512 ? query.client_id : undefined;
    const client = clientId ? await this.clients.findById(clientId, ip) : undefined;
    if (!client && clientId && isClientIdUrl(clientId) && this.config.values.cimd.enabled) {
      // The reason stays in the log (event cimd_refused): whether a name resolves to a private address, or which
      // connection error a host gave, would tell an outsider about the service's network.
      throw new OAuthError(
        'invalid_request',
        'client_id is a URL, and no usable Client ID Metadata Document was found there. The document must be JSON served with 200 (no redirect) over https from a public address, ' +
          'at most 5 KB within 5 s, whose client_id is exactly this URL, with 1 to 10 acceptable redirect_uris and token_endpoint_auth_method "none"; or register the client at /oauth/register instead. ' +
          "The service's log (event cimd_refused) names the reason.",
      );
    }
    const remembered = await this.rememberedUser(cookies);
    let request: AuthorizationRequest;
    try {
      request = parseAuthorizationRequest(query, client, (r) => this.resources.byIdentifier(r)?.identifier);
    } catch (err) {
      if (!(err instanceof AuthorizationRequestError)) throw err;
      // Redirect the error only to a client the person has shown they trust; anyone else gets our page.
      if (err.client.firstParty || (remembered && (await this.approvals.hasApproved(remembered, err.client.clientId, err.redirectUri)))) {
        return { kind: 'client', location: err.location(this.issuer) };
      }
      throw new OAuthError(err.code, `${err.description} (This error is shown here rather than sent to the application, which you have not approved.)`);
    }
    const known = client as OAuthClient;
    this.clients.recordUse(known); // not awaited (see recordUse)
    // The browser's consent cookie, made now when it has none: the request carries its digest (see startedIn).
    const csrf = validCsrf(cookies.csrf) ? undefined : randomBytes(32).toString('base64url');
    const here: FlowCookies = csrf ? { ...cookies, csrf } : cookies;
    request.startedIn = sha256Url(here.csrf as string);
    if (known.firstParty) return { kind: 'sign-in', request, csrf };
    // prompt=consent (OpenID Connect's parameter, sent by some OAuth clients): ask again even if approved before.
    if (request.prompt !== 'consent' && remembered && (await this.approvals.covers(remembered, known.clientId, requestedScopes(request), request.resource, request.redirectUri))) {
      return { kind: 'sign-in', request: { ...request, rememberedUser: remembered }, csrf };
    }
    return { ...(await this.consentPage(known, request, undefined, here)), csrf };
  }

  /** POST /oauth/authorize/decision: the person pressed Allow or Deny. */
  async decide(form: Record<string, unknown>, cookies: FlowCookies, origin: string | undefined): Promise<AuthorizationStep> {
    if (origin !== undefined && origin !== new URL(this.base).origin) {
      throw new OAuthError('access_denied', 'This consent form was posted from another site. Start again from the application.', 403);
    }
    const sealedForm = await this.sealed.open<ConsentForm>('consent-form', form.request);
    if (!sealedForm || !cookies.csrf || !sameDigest(sealedForm.b, sha256Url(cookies.csrf))) {
      throw new OAuthError('access_denied', 'This consent form is not valid in this browser, or it expired (10 minutes). Start again from the application.', 403);
    }
    if (form.decision !== 'allow' && form.decision !== 'deny') throw new OAuthError('invalid_request', 'Press Allow or Deny.');
    // Single use, except that a decision S3 failed is given back for the person's retry (runOnce says why that is safe).
    const decided = await runOnce(this.markers, 'oauth-consent', sealedForm.jti, () => this.carryOut(sealedForm, form.decision as 'allow' | 'deny'));
    if (decided.used) throw new OAuthError('access_denied', USED_FORM, 403);
    return decided.value;
  }

  /** The decision of a consent form that was just claimed. */
  private async carryOut(sealedForm: ConsentForm, decision: 'allow' | 'deny'): Promise<AuthorizationStep> {
    const { req, email } = sealedForm;
    if (decision === 'deny') {
      this.audit.record({ event: 'consent', outcome: 'denied', user: email, detail: { clientId: req.clientId } });
      return { kind: 'client', location: this.deniedRedirect(req, 'The person denied the request.') };
    }
    // The Allow travels through the Google sign-in bound to this browser: it counts only where it was pressed.
    if (!email) return { kind: 'sign-in', request: { ...req, approved: true, approvedIn: sealedForm.b } };
    await this.approvals.approve(email, req.clientId, requestedScopes(req), req.resource, req.redirectUri);
    this.audit.record({ event: 'consent', outcome: 'success', user: email, detail: { clientId: req.clientId } });
    return { kind: 'client', location: await this.issueCode(req, email, signInTimeOf(sealedForm)), remember: email };
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
    if (approved && (client.firstParty || request.rememberedUser === email)) return this.issueCode(request, email, signedInAt);
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
    if (allowedHere) {
      await this.approvals.approve(ticket.email, client.clientId, requestedScopes(req), req.resource, req.redirectUri);
      this.audit.record({ event: 'consent', outcome: 'success', user: ticket.email, ip, detail: { clientId: client.clientId } });
    }
    // An approval on record issues the code at once only in the browser that started the request; the link opened
    // in any other gets our page, naming the signed-in user, bound to that browser (no open redirector).
    const startedHere = cookies.csrf !== undefined && sameDigest(req.startedIn, sha256Url(cookies.csrf));
    if ((ticket.approved && startedHere) || allowedHere) return { kind: 'client', location: await this.issueCode(req, ticket.email, signInTimeOf(ticket)), remember: ticket.email };
    return this.consentPage(client, req, { email: ticket.email, signedInAt: signInTimeOf(ticket) }, cookies);
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
    return { kind: 'client', location: this.deniedRedirect(req, 'The person declined access on Google\'s consent page.') };
  }

  /** The redirect that tells the client the person refused: access_denied, with the client's state and iss (RFC 9207). */
  private deniedRedirect(req: AuthorizationRequest, description: string): string {
    return errorRedirect(req.redirectUri, 'access_denied', description, req.state, this.issuer);
  }

  /** A one-time code for the request, in the redirect back to the client (with state and RFC 9207 iss). */
  private async issueCode(request: AuthorizationRequest, email: string, signedInAt: number): Promise<string> {
    const code = await this.codes.issue({ ...pendingPart(request), scope: request.grantedScope ?? '', email, signedInAt });
    // Someone approved this client: a metadata document client's document is now worth keeping for every replica.
    await this.clients.approvedInUse(request.clientId);
    const back = new URL(request.redirectUri);
    back.searchParams.set('code', code);
    if (request.state) back.searchParams.set('state', request.state);
    back.searchParams.set('iss', this.issuer);
    return back.toString();
  }

  /** Our consent page; `signedIn`: the person who signed in with Google, when that came first (named on the page). */
  private async consentPage(client: OAuthClient, request: AuthorizationRequest, signedIn: { email: string; signedInAt: number } | undefined, cookies: FlowCookies): Promise<Extract<AuthorizationStep, { kind: 'consent' }>> {
    const csrf = validCsrf(cookies.csrf) ? (cookies.csrf as string) : randomBytes(32).toString('base64url');
    const { approved: _a, approvedIn: _b, rememberedUser: _r, ...req } = request;
    const email = signedIn?.email;
    const form: ConsentForm = { req, ...signedIn, b: sha256Url(csrf), jti: randomBytes(16).toString('base64url') };
    const html = renderConsentPage({
      client,
      redirectUri: request.redirectUri,
      access: this.describeAccess(requestedScopes(request)),
      resource: request.resource,
      email,
      sealedRequest: await this.sealed.seal('consent-form', form, CONSENT_FORM_TTL_SECONDS),
      action: `${this.base}/oauth/authorize/decision`,
    });
    return { kind: 'consent', html, csrf: csrf === cookies.csrf ? undefined : csrf };
  }

  /** The access asked for, one line each. */
  private describeAccess(scopes: string[]): string[] {
    return scopes.flatMap((s) =>
      // No scope asked: the token gets every access the person has granted this service at Google, which is what
      // the sign-in asks for (GOOGLE_SCOPES) plus anything granted earlier.
      s === DEFAULT_ACCESS
        ? ['Everything you have allowed or will allow this service at Google, which includes:', ...this.config.values.google.scopes.filter((g) => g.startsWith('https://')).map(describeScope)]
        : [describeScope(s)],
    );
  }

  private async rememberedUser(cookies: FlowCookies): Promise<string | undefined> {
    const opened = await this.sealed.open<{ email: string }>('remembered-user', cookies.rememberedUser);
    return typeof opened?.email === 'string' ? opened.email : undefined;
  }

  /** The remembered-user cookie value for a user. */
  rememberCookie(email: string): Promise<string> {
    return this.sealed.seal('remembered-user', { email }, REMEMBER_USER_SECONDS);
  }

}

/** Whether a consent cookie value is one this service makes (32 random bytes, base64url). */
function validCsrf(value: string | undefined): boolean {
  return value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value);
}

function sameDigest(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
