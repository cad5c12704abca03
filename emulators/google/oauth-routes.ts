import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { OAuth2Issuer } from 'oauth2-mock-server';
import { GoogleState } from './google-state.js';
import { bearer, EmulatorRequest, html, json, redirect, unauthenticated } from './http-util.js';
import { signInPage } from './sign-in-page.js';

interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state?: string;
  scopes: string[];
  challenge?: string;
  challengeMethod?: string;
  forceConsent: boolean;
  loginHint: string;
}

/** Google's OAuth endpoints: consent page, token (code + refresh), userinfo, revoke. */
export class OAuthRoutes {
  private readonly pendingRequests = new Map<string, AuthorizeRequest>();

  constructor(
    private readonly state: GoogleState,
    private readonly issuer: OAuth2Issuer,
    private readonly client: { id: string; secret: string },
  ) {}

  /** GET /o/oauth2/v2/auth: validates like Google, then shows the sign-in page. */
  authorize(req: EmulatorRequest, res: ServerResponse): void {
    const p = req.url.searchParams;
    if (p.get('client_id') !== this.client.id) return html(res, 401, '<h1>Error 401: invalid_client</h1><p>The OAuth client was not found.</p>');
    if (p.get('response_type') !== 'code') return html(res, 400, '<h1>Error 400: unsupported_response_type</h1>');
    const redirectUri = p.get('redirect_uri');
    if (!redirectUri) return html(res, 400, '<h1>Error 400: redirect_uri_mismatch</h1>');
    const request: AuthorizeRequest = {
      clientId: this.client.id,
      redirectUri,
      state: p.get('state') ?? undefined,
      scopes: (p.get('scope') ?? '').split(/\s+/).filter(Boolean),
      challenge: p.get('code_challenge') ?? undefined,
      challengeMethod: p.get('code_challenge_method') ?? (p.get('code_challenge') ? 'plain' : undefined),
      forceConsent: (p.get('prompt') ?? '').split(/\s+/).includes('consent'),
      loginHint: p.get('login_hint') ?? '',
    };
    const id = randomBytes(16).toString('base64url');
    this.pendingRequests.set(id, request);
    html(res, 200, signInPage(id, request.loginHint, request.clientId, request.scopes));
  }

  /** POST /o/oauth2/v2/approve: the person's decision; back to the client with a code or access_denied. */
  approve(req: EmulatorRequest, res: ServerResponse): void {
    const request = this.pendingRequests.get(req.form.request ?? '');
    this.pendingRequests.delete(req.form.request ?? '');
    if (!request) return html(res, 400, '<h1>Error 400: this sign-in page expired</h1>');
    const back = new URL(request.redirectUri);
    if (request.state) back.searchParams.set('state', request.state);
    const email = (req.form.email ?? '').trim().toLowerCase();
    if (req.form.decision !== 'allow' || !email) {
      back.searchParams.set('error', 'access_denied');
      return redirect(res, back.toString());
    }
    const code = this.state.issueCode({
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      challenge: request.challenge,
      challengeMethod: request.challengeMethod,
      email,
      emailVerified: req.form.email_verified !== 'false',
      scopes: request.scopes,
      forceConsent: request.forceConsent,
    });
    back.searchParams.set('code', code);
    back.searchParams.set('scope', request.scopes.join(' '));
    redirect(res, back.toString());
  }

  /** POST /token: authorization_code and refresh_token grants, with Google's answers and errors. */
  async token(req: EmulatorRequest, res: ServerResponse): Promise<void> {
    const f = req.form;
    const basic = (req.headers.authorization ?? '').startsWith('Basic ')
      ? Buffer.from((req.headers.authorization ?? '').slice(6), 'base64').toString().split(':').map(decodeURIComponent)
      : [];
    const clientId = f.client_id ?? basic[0];
    const clientSecret = f.client_secret ?? basic[1];
    if (clientId !== this.client.id || clientSecret !== this.client.secret) {
      return json(res, 401, { error: 'invalid_client', error_description: 'Unauthorized' });
    }
    if (f.grant_type === 'authorization_code') return this.exchangeCode(f, res);
    if (f.grant_type === 'refresh_token') return this.refresh(f, res);
    json(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type: ' + (f.grant_type ?? '') });
  }

  /** GET /v1/userinfo */
  userinfo(req: EmulatorRequest, res: ServerResponse): void {
    const info = this.state.liveAccessToken(bearer(req));
    if (!info) return unauthenticated(res);
    json(res, 200, {
      sub: GoogleState.subjectOf(info.email),
      email: info.email,
      email_verified: info.emailVerified,
      name: info.email.split('@')[0],
      picture: 'https://lh3.googleusercontent.com/a/default-user',
    });
  }

  /** POST /revoke */
  revoke(req: EmulatorRequest, res: ServerResponse): void {
    const token = req.form.token ?? req.url.searchParams.get('token') ?? '';
    this.state.revocations.push(token);
    if (!this.state.revokeToken(token)) return json(res, 400, { error: 'invalid_token', error_description: 'Token expired or revoked' });
    json(res, 200, {});
  }

  private async exchangeCode(f: Record<string, string>, res: ServerResponse): Promise<void> {
    const pending = this.state.takeCode(f.code ?? '');
    const invalid = (why: string) => json(res, 400, { error: 'invalid_grant', error_description: why });
    if (!pending || pending.clientId !== f.client_id && f.client_id !== undefined) return invalid('Malformed auth code.');
    if (pending.redirectUri !== f.redirect_uri) return invalid('Bad Request'); // Google: redirect_uri_mismatch
    if (pending.challenge) {
      const verifier = f.code_verifier ?? '';
      const computed = pending.challengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
      if (!verifier || computed !== pending.challenge) return invalid('Invalid code verifier.');
    }
    const firstGrant = !this.state.grants.has(`${pending.email}|${pending.clientId}`);
    const omit = this.state.omitRefreshTokenOnce;
    this.state.omitRefreshTokenOnce = false;
    const grantInfo = { email: pending.email, emailVerified: pending.emailVerified, clientId: pending.clientId, scopes: pending.scopes };
    let refreshToken: string | undefined;
    if (omit) this.state.grants.add(`${pending.email}|${pending.clientId}`);
    else if (pending.forceConsent || firstGrant) refreshToken = this.state.issueRefreshToken(grantInfo);
    const accessToken = this.state.issueAccessToken({ ...grantInfo, refreshToken });
    json(res, 200, {
      access_token: accessToken,
      expires_in: this.state.accessTokenTtlSeconds,
      token_type: 'Bearer',
      scope: pending.scopes.join(' '),
      id_token: await this.idToken(pending.email, pending.emailVerified),
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    });
  }

  private refresh(f: Record<string, string>, res: ServerResponse): void {
    const info = this.state.refreshTokens.get(f.refresh_token ?? '');
    if (!info) return json(res, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
    const accessToken = this.state.issueAccessToken({ email: info.email, emailVerified: info.emailVerified, refreshToken: f.refresh_token, scopes: info.scopes });
    this.state.countRefresh(info.email);
    // Like Google: no refresh_token in a refresh response.
    json(res, 200, { access_token: accessToken, expires_in: this.state.accessTokenTtlSeconds, token_type: 'Bearer', scope: info.scopes.join(' ') });
  }

  private idToken(email: string, emailVerified: boolean): Promise<string> {
    return this.issuer.buildToken({
      expiresIn: 3600,
      scopesOrTransform: (_header, payload) => {
        Object.assign(payload, { aud: this.client.id, azp: this.client.id, sub: GoogleState.subjectOf(email), email, email_verified: emailVerified });
        delete (payload as Record<string, unknown>).scope;
      },
    });
  }
}
