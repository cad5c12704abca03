import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { GoogleState } from './google-state.js';
import { bearer, EmulatorRequest, html, json, oauthError, param, redirect, userinfoUnauthenticated } from './http-util.js';
import { expandScopes, grantsEmail, grantsProfile, invalidScopes } from './scopes.js';
import { errorPage, isSignInScope, signInPage } from './sign-in-page.js';

/** What an authorize request asked for, kept while the person looks at the consent page. */
interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state?: string;
  scopes: string[];
  challenge?: string;
  challengeMethod?: 'S256' | 'plain';
  offline: boolean;
  forceConsent: boolean;
  includeGrantedScopes: boolean;
  loginHint: string;
  nonce?: string;
  expiresAt: number;
}

const PAGE_TTL_MS = 10 * 60_000;
// RFC 7636 section 4.2: 43 to 128 unreserved characters.
const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;
const PROMPTS = new Set(['none', 'consent', 'select_account']);

/** A display name from the email's local part ("ann.lee@x" -> "Ann Lee"), so the profile looks like a person's. */
export function displayName(email: string): string {
  return email.split('@')[0].split(/[._+-]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ') || email;
}

/** Google's browser-facing and small OAuth endpoints: authorize (consent page), the consent decision, userinfo, revoke. */
export class OAuthRoutes {
  private readonly pending = new Map<string, AuthorizeRequest>();

  constructor(
    private readonly state: GoogleState,
    private readonly clientId: string,
  ) {}

  /** GET /o/oauth2/v2/auth: validates the request the way Google does, then shows the sign-in page. */
  authorize(req: EmulatorRequest, res: ServerResponse): void {
    const p = req.url.searchParams;
    const fail = (status: number, error: string, description: string) => html(res, status, errorPage(status, error, description));
    const clientId = p.get('client_id');
    if (!clientId) return fail(400, 'invalid_request', 'Missing required parameter: client_id');
    if (clientId !== this.clientId) return fail(401, 'invalid_client', 'The OAuth client was not found.');
    const redirectUri = p.get('redirect_uri');
    if (!redirectUri) return fail(400, 'invalid_request', 'Missing required parameter: redirect_uri');
    if (!/^https?:\/\/[^/]/.test(redirectUri) || redirectUri.includes('#')) {
      return fail(400, 'redirect_uri_mismatch', `The redirect URI in the request, ${redirectUri}, is not an absolute http(s) URL.`);
    }
    const responseType = p.get('response_type');
    if (!responseType) return fail(400, 'invalid_request', 'Required parameter is missing: response_type');
    if (responseType !== 'code') return fail(400, 'unsupported_response_type', `Invalid response_type: ${responseType}`);
    const scopes = (p.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (!scopes.length) return fail(400, 'invalid_request', 'Missing required parameter: scope');
    const invalid = invalidScopes(scopes);
    if (invalid.length) {
      const valid = scopes.filter((s) => !invalid.includes(s));
      return fail(400, 'invalid_scope', `Some requested scopes were invalid. {valid=[${valid.join(', ')}], invalid=[${invalid.join(', ')}]}`);
    }
    const accessType = p.get('access_type') ?? 'online';
    if (accessType !== 'online' && accessType !== 'offline') return fail(400, 'invalid_request', `Invalid access_type: ${accessType}`);
    const prompts = (p.get('prompt') ?? '').split(/\s+/).filter(Boolean);
    if (prompts.some((x) => !PROMPTS.has(x)) || (prompts.includes('none') && prompts.length > 1)) {
      return fail(400, 'invalid_request', `Invalid prompt: ${p.get('prompt')}`);
    }
    const challenge = p.get('code_challenge') ?? undefined;
    // Like Google: PKCE is optional, and a challenge without a method is `plain`.
    const method = p.get('code_challenge_method') ?? (challenge ? 'plain' : undefined);
    if (method !== undefined && method !== 'S256' && method !== 'plain') return fail(400, 'invalid_request', `Invalid code_challenge_method: ${method}`);
    if (method && !challenge) return fail(400, 'invalid_request', 'Missing code_challenge.');
    if (challenge && !PKCE_VALUE.test(challenge)) return fail(400, 'invalid_request', 'Invalid code_challenge.');

    const request: AuthorizeRequest = {
      clientId,
      redirectUri,
      state: p.get('state') ?? undefined,
      scopes,
      challenge,
      challengeMethod: method,
      offline: accessType === 'offline',
      forceConsent: prompts.includes('consent'),
      includeGrantedScopes: p.get('include_granted_scopes') === 'true',
      loginHint: p.get('login_hint') ?? '',
      nonce: p.get('nonce') ?? undefined,
      expiresAt: Date.now() + PAGE_TTL_MS,
    };
    const now = Date.now();
    for (const [id, r] of this.pending) if (r.expiresAt <= now) this.pending.delete(id); // abandoned pages
    const id = randomBytes(16).toString('base64url');
    this.pending.set(id, request);
    html(res, 200, this.page(id, request));
  }

  /** POST /o/oauth2/v2/approve: the person's decision. Back to the application with a code, or with access_denied. */
  decide(req: EmulatorRequest, res: ServerResponse): void {
    const id = req.form.request ?? '';
    const request = this.pending.get(id);
    if (!request || request.expiresAt <= Date.now()) {
      this.pending.delete(id);
      return html(res, 400, errorPage(400, 'invalid_request', 'This sign-in page expired or was already used. Start the sign-in again from the application.'));
    }
    const back = new URL(request.redirectUri);
    if (request.state !== undefined) back.searchParams.set('state', request.state);
    if (req.form.decision !== 'allow') {
      this.pending.delete(id);
      back.searchParams.set('error', 'access_denied');
      return redirect(res, back.toString());
    }
    const email = (req.form.email ?? '').trim().toLowerCase();
    if (!email) return html(res, 400, this.page(id, request, 'Enter an email address to sign in.')); // page stays usable
    this.pending.delete(id);
    const previous = request.includeGrantedScopes ? this.state.grantedScopes(email, request.clientId) : [];
    // Granular consent: an API scope whose checkbox was unticked is not granted (the sign-in scopes always are).
    const ticked = new Set(Object.entries(req.form).filter(([k]) => k.startsWith('grant_')).map(([, v]) => v));
    const allowed = req.form.granular === '1' ? request.scopes.filter((s) => isSignInScope(s) || ticked.has(s)) : request.scopes;
    const scopes = expandScopes([...allowed, ...previous]);
    const code = this.state.issueCode({
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      challenge: request.challenge,
      challengeMethod: request.challengeMethod,
      email,
      // A ticked checkbox sends "true"; an unticked one sends nothing.
      emailVerified: req.form.email_verified === 'true',
      scopes,
      offline: request.offline,
      forceConsent: request.forceConsent,
      nonce: request.nonce,
    });
    back.searchParams.set('code', code);
    back.searchParams.set('scope', scopes.join(' '));
    redirect(res, back.toString());
  }

  /** GET /v1/userinfo and /oauth2/v3/userinfo: the claims the token's scopes allow. */
  userinfo(req: EmulatorRequest, res: ServerResponse): void {
    // Google also takes the token as ?access_token=; the service must not, but a person trying the URL by hand can.
    const info = this.state.liveAccessToken(bearer(req) ?? req.url.searchParams.get('access_token') ?? undefined);
    if (!info) return userinfoUnauthenticated(res);
    const name = displayName(info.email);
    json(res, 200, {
      sub: GoogleState.subjectOf(info.email),
      ...(grantsProfile(info.scopes)
        ? { name, given_name: name.split(' ')[0], family_name: name.split(' ').slice(1).join(' ') || undefined, picture: 'https://lh3.googleusercontent.com/a/default-user=s96-c' }
        : {}),
      ...(grantsEmail(info.scopes) ? { email: info.email, email_verified: info.emailVerified } : {}),
    });
  }

  /** The token a revoke request names (body or query), for recording before anything else happens. */
  static revokedToken(req: EmulatorRequest): string | undefined {
    return param(req, 'token') || undefined;
  }

  /** POST /revoke */
  revoke(req: EmulatorRequest, res: ServerResponse): void {
    const token = OAuthRoutes.revokedToken(req);
    if (!token) return oauthError(res, 400, 'invalid_request', 'Bad Request');
    if (!this.state.revokeToken(token)) return oauthError(res, 400, 'invalid_token', 'Token expired or revoked');
    json(res, 200, {});
  }

  private page(id: string, r: AuthorizeRequest, problem?: string): string {
    return signInPage({ requestId: id, clientId: r.clientId, scopes: r.scopes, loginHint: r.loginHint, offline: r.offline, forceConsent: r.forceConsent, problem });
  }
}
