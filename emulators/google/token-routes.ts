import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { OAuth2Issuer } from 'oauth2-mock-server';
import { GoogleState, Identity } from './google-state.js';
import { EmulatorRequest, json, oauthError } from './http-util.js';
import { displayName } from './oauth-routes.js';
import { grantsEmail, grantsProfile, wantsIdToken } from './scopes.js';

// RFC 7636 section 4.1: 43 to 128 unreserved characters.
const PKCE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** client_secret_basic sends id and secret form-encoded (RFC 6749 section 2.3.1). */
function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** POST /token: the authorization_code and refresh_token grants, with Google's answers and errors. */
export class TokenRoutes {
  constructor(
    private readonly state: GoogleState,
    private readonly issuer: OAuth2Issuer,
    private readonly client: { id: string; secret: string },
  ) {}

  async token(req: EmulatorRequest, res: ServerResponse): Promise<void> {
    if (!this.authenticateClient(req, res)) return;
    const f = req.form;
    if (f.grant_type === 'authorization_code') return this.exchangeCode(f, res);
    if (f.grant_type === 'refresh_token') return this.refresh(f, res);
    oauthError(res, 400, 'unsupported_grant_type', `Invalid grant_type: ${f.grant_type ?? ''}`);
  }

  /** Client credentials in the body (client_secret_post) or in HTTP Basic (client_secret_basic), as Google accepts. */
  private authenticateClient(req: EmulatorRequest, res: ServerResponse): boolean {
    const auth = req.headers.authorization ?? '';
    let basic: [string, string] | undefined;
    if (/^basic /i.test(auth)) {
      const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':'); // the secret may itself contain ':'
      if (colon >= 0) basic = [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))];
    }
    const id = req.form.client_id ?? basic?.[0];
    const secret = req.form.client_secret ?? basic?.[1];
    if (!id) oauthError(res, 400, 'invalid_request', 'Could not determine client ID from request.');
    else if (id !== this.client.id) oauthError(res, 401, 'invalid_client', 'The OAuth client was not found.');
    else if (secret !== this.client.secret) oauthError(res, 401, 'invalid_client', 'Unauthorized');
    else return true;
    return false;
  }

  private async exchangeCode(f: Record<string, string>, res: ServerResponse): Promise<void> {
    const invalidGrant = (description: string) => oauthError(res, 400, 'invalid_grant', description);
    if (!f.code) return oauthError(res, 400, 'invalid_request', 'Missing required parameter: code');
    // The code is gone from here on, whatever happens next: one attempt per code.
    const pending = this.state.takeCode(f.code);
    // Google says "Bad Request" for a used or expired code of its own, "Malformed auth code." for anything else.
    if (!pending || pending.clientId !== this.client.id) return invalidGrant(f.code.startsWith('4/0A') ? 'Bad Request' : 'Malformed auth code.');
    if (!f.redirect_uri) return oauthError(res, 400, 'invalid_request', 'Missing parameter: redirect_uri');
    if (f.redirect_uri !== pending.redirectUri) return oauthError(res, 400, 'redirect_uri_mismatch', 'Bad Request');
    const verifier = f.code_verifier;
    if (pending.challenge) {
      if (!verifier) return invalidGrant('Missing code verifier.');
      const computed = pending.challengeMethod === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
      if (!PKCE_VERIFIER.test(verifier) || computed !== pending.challenge) return invalidGrant('Invalid code verifier.');
    } else if (verifier) {
      // Google refuses a verifier for a code that was requested without a challenge (a lost challenge is a client bug).
      return invalidGrant('code_verifier or verifier is not needed.');
    }

    const identity: Identity = { email: pending.email, emailVerified: pending.emailVerified, clientId: pending.clientId, scopes: pending.scopes };
    const omit = this.state.omitRefreshTokenOnce;
    this.state.omitRefreshTokenOnce = false;
    // Google's rule: a refresh token only for offline access, and only on the first consent of this user to this
    // client or when prompt=consent forced a new one. `omit` plays Google believing an earlier grant exists.
    const firstOfflineGrant = !this.state.hasOfflineGrant(identity.email, identity.clientId);
    const issueRefresh = pending.offline && !omit && (firstOfflineGrant || pending.forceConsent);
    this.state.recordGrant(identity, pending.offline);
    if (issueRefresh && this.state.rotateRefreshTokens) this.state.revokeRefreshTokensOf(identity.email, identity.clientId);
    const refreshToken = issueRefresh ? this.state.issueRefreshToken(identity) : undefined;
    const accessToken = this.state.issueAccessToken(identity, refreshToken);
    json(res, 200, {
      access_token: accessToken,
      expires_in: this.state.accessTokenTtlSeconds,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      scope: identity.scopes.join(' '),
      token_type: 'Bearer',
      ...(wantsIdToken(identity.scopes) ? { id_token: await this.idToken(identity, accessToken, pending.nonce) } : {}),
    });
  }

  private async refresh(f: Record<string, string>, res: ServerResponse): Promise<void> {
    if (!f.refresh_token) return oauthError(res, 400, 'invalid_request', 'Missing required parameter: refresh_token');
    const identity = this.state.refreshTokenInfo(f.refresh_token);
    if (!identity) return oauthError(res, 400, 'invalid_grant', 'Token has been expired or revoked.');
    if (identity.clientId !== this.client.id) return oauthError(res, 400, 'invalid_grant', 'Unauthorized');
    // With rotation the used refresh token dies here and the answer carries its successor.
    const rotated = this.state.rotateRefreshTokens ? this.state.rotateRefreshToken(f.refresh_token) : undefined;
    const accessToken = this.state.issueAccessToken(identity, rotated ?? f.refresh_token);
    this.state.countRefresh(identity.email);
    // Like Google: no refresh_token in a refresh response (the client keeps the one it has) unless it rotates; an
    // id_token when the grant includes OpenID scopes.
    json(res, 200, {
      access_token: accessToken,
      expires_in: this.state.accessTokenTtlSeconds,
      ...(rotated ? { refresh_token: rotated } : {}),
      scope: identity.scopes.join(' '),
      token_type: 'Bearer',
      ...(wantsIdToken(identity.scopes) ? { id_token: await this.idToken(identity, accessToken) } : {}),
    });
  }

  /** A Google-shaped id_token, signed with oauth2-mock-server's key (published at the JWKS route). */
  private idToken(identity: Identity, accessToken: string, nonce?: string): Promise<string> {
    const { email, emailVerified, scopes } = identity;
    // at_hash: left half of the SHA-256 of the access token (OpenID Connect Core 3.1.3.6), as Google sends it.
    const atHash = createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
    return this.issuer.buildToken({
      expiresIn: 3600,
      scopesOrTransform: (_header, payload) => {
        const p = payload as Record<string, unknown>;
        delete p.nbf; // Google's id_tokens carry iat and exp only
        Object.assign(p, { azp: this.client.id, aud: this.client.id, sub: GoogleState.subjectOf(email), at_hash: atHash });
        if (grantsEmail(scopes)) Object.assign(p, { email, email_verified: emailVerified });
        if (grantsProfile(scopes)) Object.assign(p, { name: displayName(email), picture: 'https://lh3.googleusercontent.com/a/default-user=s96-c' });
        if (nonce) p.nonce = nonce;
      },
    });
  }
}
