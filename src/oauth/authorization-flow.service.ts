import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { SealedValues } from '../common/sealed-values.js';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { AuditLog } from '../observability/audit-log.js';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { AuthorizationOutcomes, type ConsentForm } from './authorization-outcomes.js';
import { AuthorizationRequest, AuthorizationRequestError, parseAuthorizationRequest, requestedScopes } from './authorization-request.js';
import { AuthorizationStep, FlowCookies, sameDigest, signInTimeOf, validCsrf } from './authorization-step.js';
import { ClientApprovals } from './client-approvals.js';
import { isClientIdUrl } from './client-metadata-document.js';
import { OAuthClient } from './oauth-client.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { OAuthError } from './oauth-error.js';
import { runOnce } from './one-time-step.js';

/**
 * "Already used", honestly: a step that succeeded (a reload, the back button, a double click) or, rarely, one that
 * failed on S3 while S3 also refused to give its claim back (runOnce). Either way the way on is a new authorization.
 */
const USED_FORM = 'This consent form was already submitted: your choice was already received, or an earlier attempt failed while the service\'s storage was unavailable and could not be undone. Go back to the application and connect again.';
/** How long a browser remembers who signed in on it, to skip the consent page for clients that user approved. */
export const REMEMBER_USER_SECONDS = 30 * 24 * 3600;

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
 *    That hop back from Google is SignInReturn's; both end a step through AuthorizationOutcomes.
 *
 * This class has steps 1 and 2, and the remembered-user cookie they read.
 */
@Injectable()
export class AuthorizationFlow {
  private readonly issuer: string;
  private readonly base: string;

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly approvals: ClientApprovals,
    private readonly outcomes: AuthorizationOutcomes,
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
    return { ...(await this.outcomes.consentPage(known, request, undefined, here)), csrf };
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
      return { kind: 'client', location: this.outcomes.deniedRedirect(req, 'The person denied the request.') };
    }
    // The Allow travels through the Google sign-in bound to this browser: it counts only where it was pressed.
    if (!email) return { kind: 'sign-in', request: { ...req, approved: true, approvedIn: sealedForm.b } };
    await this.approvals.approve(email, req.clientId, requestedScopes(req), req.resource, req.redirectUri);
    this.audit.record({ event: 'consent', outcome: 'success', user: email, detail: { clientId: req.clientId } });
    return { kind: 'client', location: await this.outcomes.issueCode(req, email, signInTimeOf(sealedForm)), remember: email };
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
