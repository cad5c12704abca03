import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { SealedValues } from '../common/sealed-values.js';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { AuthorizationCodes } from './authorization-codes.js';
import { AuthorizationRequest, DEFAULT_ACCESS, errorRedirect, pendingPart, requestedScopes } from './authorization-request.js';
import { AuthorizationStep, FlowCookies, validCsrf } from './authorization-step.js';
import { CimdAdmission } from './cimd-admission.js';
import { isClientIdUrl } from './client-metadata-document.js';
import { renderConsentPage } from './consent-page.js';
import { OAuthClient } from './oauth-client.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { describeScope } from './scope-descriptions.js';

const CONSENT_FORM_TTL_SECONDS = 600;

/** `signedInAt`: when `email` signed in with Google (set with it); a revocation after it voids what this issues. */
export type ConsentForm = { req: AuthorizationRequest; email?: string; signedInAt?: number; b: string; jti: string };

/**
 * Where a step of the authorization flow ends for the browser: a code for the client, access_denied to the client,
 * or our consent page. Shared by the steps before the Google sign-in (AuthorizationFlow) and the hop back from it
 * (SignInReturn), so both issue codes and show the page the same way.
 */
@Injectable()
export class AuthorizationOutcomes {
  private readonly issuer: string;
  private readonly base: string;

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly codes: AuthorizationCodes,
    private readonly sealed: SealedValues,
    private readonly config: AppConfig,
    private readonly admission: CimdAdmission,
  ) {
    this.issuer = config.values.jwt.issuer;
    this.base = config.values.publicUrl;
  }

  /** The redirect that tells the client the person refused: access_denied, with the client's state and iss (RFC 9207). */
  deniedRedirect(req: AuthorizationRequest, description: string): string {
    return errorRedirect(req.redirectUri, 'access_denied', description, req.state, this.issuer);
  }

  /** A one-time code for the request, in the redirect back to the client (with state and RFC 9207 iss). */
  async issueCode(request: AuthorizationRequest, email: string, signedInAt: number): Promise<string> {
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
  async consentPage(client: OAuthClient, request: AuthorizationRequest, signedIn: { email: string; signedInAt: number } | undefined, cookies: FlowCookies): Promise<Extract<AuthorizationStep, { kind: 'consent' }>> {
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
      publisher: !client.static && isClientIdUrl(client.clientId) ? this.admission.publisher(client.clientId) : undefined,
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
}
