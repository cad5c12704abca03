import { Injectable, Logger } from '@nestjs/common';
import { AuditLog } from '../observability/audit-log.js';
import { Metrics } from '../observability/metrics.js';
import { createHash } from 'node:crypto';
import { DomainError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { BearerTokenService } from '../sessions/bearer-token.service.js';
import { AuthorizationCodes } from './authorization-codes.js';
import { OAuthClient, redirectUriMatches, redirectUriProblem, TokenEndpointAuthMethod } from './oauth-client.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { OAuthError } from './oauth-error.js';
import { RefreshFamily, RefreshTokenFamilies } from './refresh-token-families.js';
import { SessionStore } from '../sessions/session.store.js';
import type { PendingAuthorization } from '../auth/sign-in-flow.store.js';
import { authenticateClient, PresentedClient } from './client-authentication.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { grantedScopes, parseScopeRequest } from './scope-request.js';

type Params = Record<string, unknown>;
const str = (v: unknown, max = 2048) => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);

/** Raised for authorization requests whose error goes back to the client's redirect URI (RFC 6749 4.1.2.1). */
export class RedirectableError extends Error {
  constructor(readonly location: string) {
    super('authorization error sent to the client');
  }
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  /** Exactly the scopes the access token carries (RFC 6749 section 5.1). */
  scope: string;
}

/**
 * The OAuth 2.1 authorization server in front of the Google sign-in: client registration, authorization code with
 * PKCE S256 only, exact redirect URIs, RFC 8707 resources, refresh token rotation with reuse detection,
 * revocation (RFC 7009) and introspection (RFC 7662). Access tokens are the service's own bearer JWTs.
 */
@Injectable()
export class OAuthServer {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly codes: AuthorizationCodes,
    private readonly families: RefreshTokenFamilies,
    private readonly sessions: SessionStore,
    private readonly tokens: BearerTokenService,
    private readonly config: AppConfig,
    private readonly audit: AuditLog,
    private readonly metrics: Metrics,
    private readonly resources: ProtectedResources,
  ) {}

  /** RFC 7591 dynamic registration. */
  async register(body: unknown) {
    if (!this.config.values.oauth.dynamicRegistration) {
      throw new DomainError(403, 'registration_disabled', 'Dynamic client registration is switched off on this server. Ask the operators for a client (OAUTH_STATIC_CLIENTS).');
    }
    const m = (body && typeof body === 'object' ? body : {}) as Params;
    const uris = m.redirect_uris;
    if (!Array.isArray(uris) || uris.length === 0 || uris.length > 10 || !uris.every((u) => typeof u === 'string')) {
      throw new OAuthError('invalid_redirect_uri', '"redirect_uris" must be a list of 1 to 10 absolute URIs.');
    }
    for (const uri of uris as string[]) {
      const problem = redirectUriProblem(uri);
      if (problem) throw new OAuthError('invalid_redirect_uri', problem);
    }
    const method = (m.token_endpoint_auth_method ?? 'client_secret_basic') as TokenEndpointAuthMethod;
    if (!['none', 'client_secret_basic', 'client_secret_post'].includes(method)) {
      throw new OAuthError('invalid_client_metadata', '"token_endpoint_auth_method" must be none, client_secret_basic or client_secret_post.');
    }
    const grantTypes = (m.grant_types ?? ['authorization_code', 'refresh_token']) as unknown[];
    if (!Array.isArray(grantTypes) || grantTypes.some((g) => g !== 'authorization_code' && g !== 'refresh_token')) {
      throw new OAuthError('invalid_client_metadata', '"grant_types" may hold authorization_code and refresh_token only.');
    }
    const responseTypes = (m.response_types ?? ['code']) as unknown[];
    if (!Array.isArray(responseTypes) || responseTypes.some((r) => r !== 'code')) {
      throw new OAuthError('invalid_client_metadata', '"response_types" may hold "code" only.');
    }
    const clientName = m.client_name === undefined ? undefined : str(m.client_name, 200);
    if (m.client_name !== undefined && !clientName) throw new OAuthError('invalid_client_metadata', '"client_name" must be a string of at most 200 characters.');
    const { client, secret } = await this.clients.register({ clientName, redirectUris: uris as string[], tokenEndpointAuthMethod: method });
    this.logger.log({ msg: 'oauth client registered', event: 'client_registered', clientId: client.clientId, method });
    return {
      client_id: client.clientId,
      ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
      client_id_issued_at: Math.floor(Date.parse(client.createdAt) / 1000),
      ...(clientName ? { client_name: clientName } : {}),
      redirect_uris: client.redirectUris,
      token_endpoint_auth_method: method,
      grant_types: grantTypes,
      response_types: ['code'],
    };
  }

  /** Validates an authorization request. Errors about the client or redirect URI are shown, never redirected. */
  async validateAuthorization(q: Params): Promise<PendingAuthorization> {
    const clientId = str(q.client_id, 200);
    const client = clientId ? await this.clients.findById(clientId) : undefined;
    if (!client) throw new OAuthError('invalid_request', 'Unknown or missing client_id. Register the client at /oauth/register first.');
    const presented = str(q.redirect_uri);
    const registered = presented ? client.redirectUris.find((r) => redirectUriMatches(r, presented)) : client.redirectUris.length === 1 ? client.redirectUris[0] : undefined;
    if (!registered) {
      throw new OAuthError('invalid_request', 'redirect_uri does not exactly match a registered redirect URI of this client.');
    }
    const redirectUri = presented ?? registered;
    const state = q.state === undefined ? undefined : str(q.state, 512);
    const fail = (code: string, description: string): never => {
      const back = new URL(redirectUri);
      back.searchParams.set('error', code);
      back.searchParams.set('error_description', description);
      if (state) back.searchParams.set('state', state);
      back.searchParams.set('iss', this.config.values.jwt.issuer);
      throw new RedirectableError(back.toString());
    };
    if (q.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
    if (q.state !== undefined && !state) return fail('invalid_request', 'state must be at most 512 characters.');
    const challenge = str(q.code_challenge, 128);
    if (!challenge) return fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256.');
    if (q.code_challenge_method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256 (plain is not allowed).');
    if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail('invalid_request', 'code_challenge must be the base64url SHA-256 of the verifier (43 characters).');
    const resource = q.resource === undefined ? undefined : this.resources.byIdentifier(str(q.resource, 512) ?? '');
    if (q.resource !== undefined && !resource) return fail('invalid_target', `resource must be one of this service's resources: ${this.resources.list().map((r) => r.identifier).join(', ')}.`);
    const scope = parseScopeRequest(q.scope);
    if (!scope.ok) return fail('invalid_scope', scope.description);
    return { clientId: client.clientId, redirectUri, codeChallenge: challenge, state, resource: resource?.identifier, scope: scope.scopes.join(' ') || undefined };
  }

  /** After the Google sign-in: the redirect back to the client, with a one-time code (60 s), state and iss. */
  async completeAuthorization(request: PendingAuthorization, email: string, ip?: string, grantedAtGoogle: readonly string[] = []): Promise<string> {
    const back = new URL(request.redirectUri);
    const scopes = grantedScopes(request.scope, grantedAtGoogle);
    if (scopes.length === 0) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The person did not grant Google any of the requested scopes. Ask again and have them allow access.');
      if (request.state) back.searchParams.set('state', request.state);
      back.searchParams.set('iss', this.config.values.jwt.issuer);
      return back.toString();
    }
    const code = await this.codes.issue({ ...request, scope: scopes.join(' '), email });
    back.searchParams.set('code', code);
    if (request.state) back.searchParams.set('state', request.state);
    back.searchParams.set('iss', this.config.values.jwt.issuer);
    this.audit.record({ event: 'sign_in', outcome: 'success', user: email, ip, detail: { via: 'oauth', clientId: request.clientId } });
    return back.toString();
  }

  /** The token endpoint. */
  async token(body: Params, presented: PresentedClient): Promise<TokenResponse> {
    const client = authenticateClient(presented.clientId ? await this.clients.findById(presented.clientId) : undefined, presented);
    if (body.grant_type === 'authorization_code') return this.exchangeCode(body, client);
    if (body.grant_type === 'refresh_token') return this.refresh(body, client);
    throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token.');
  }

  /** RFC 7009: revokes a refresh token (its family and session) or an access token (its session). Always succeeds. */
  async revoke(body: Params, presented: PresentedClient): Promise<void> {
    const client = authenticateClient(presented.clientId ? await this.clients.findById(presented.clientId) : undefined, presented);
    const token = str(body.token, 4096);
    if (!token) throw new OAuthError('invalid_request', 'Send the token to revoke as "token".');
    const refresh = await this.families.find(token);
    if (refresh) {
      if (refresh.family.clientId === client.clientId) await this.revokeFamily(refresh.family, 'revoked by client');
      return;
    }
    const claims = this.tokens.verifyIgnoringExpiry(token);
    if (claims && claims.client_id === client.clientId) {
      const session = await this.sessions.find(claims.sid);
      if (session) await this.sessions.end(session);
    }
  }

  /** RFC 7662 introspection, for confidential clients. */
  async introspect(body: Params, presented: PresentedClient): Promise<Record<string, unknown>> {
    const client = authenticateClient(presented.clientId ? await this.clients.findById(presented.clientId) : undefined, presented);
    if (client.tokenEndpointAuthMethod === 'none') throw new OAuthError('invalid_client', 'Introspection is for confidential clients only.');
    const token = str(body.token, 4096);
    if (!token) throw new OAuthError('invalid_request', 'Send the token to introspect as "token".');
    const refresh = await this.families.find(token);
    if (refresh) {
      const f = refresh.family;
      const active = refresh.current && !f.revokedAt && f.expiresAt > Date.now() && Boolean(await this.sessions.find(f.sessionId));
      return active
        ? { active, token_type: 'refresh_token', client_id: f.clientId, sub: f.email, email: f.email, exp: Math.floor(f.expiresAt / 1000), ...(f.scope ? { scope: f.scope } : {}) }
        : { active: false };
    }
    const claims = this.tokens.verify(token);
    const session = claims ? await this.sessions.find(claims.sid) : undefined;
    if (!claims || !session || session.email !== claims.sub) return { active: false };
    return { active: true, token_type: 'Bearer', client_id: claims.client_id, sub: claims.sub, email: claims.email, aud: claims.aud, iss: claims.iss, iat: claims.iat, exp: claims.exp, sid: claims.sid, scope: claims.scope ?? '' };
  }

  private async exchangeCode(body: Params, client: OAuthClient): Promise<TokenResponse> {
    const code = str(body.code, 256);
    const verifier = str(body.code_verifier, 128);
    const redirectUri = str(body.redirect_uri);
    if (!code) throw new OAuthError('invalid_request', 'Send the authorization code as "code".');
    if (!verifier) throw new OAuthError('invalid_request', 'Send the PKCE code_verifier.');
    const redeemed = await this.codes.redeem(code);
    if (redeemed.status === 'reused') {
      // RFC 6749 4.1.2 / OAuth 2.1: a code used twice is an attack signal: revoke what the first use issued.
      const family = await this.families.revoke(redeemed.grant.familyId);
      if (family) await this.endSession(family.sessionId);
      this.metrics.securityViolations.inc({ reason: 'authorization_code_reuse' });
      this.audit.record({ event: 'security_violation', outcome: 'denied', user: redeemed.grant.email, detail: { reason: 'authorization_code_reuse', clientId: client.clientId } });
      throw new OAuthError('invalid_grant', 'This authorization code was already used; the tokens issued from it have been revoked. Start a new authorization.');
    }
    if (redeemed.status !== 'ok') throw new OAuthError('invalid_grant', `The authorization code is ${redeemed.status === 'expired' ? 'expired (codes live 60 seconds)' : 'unknown'}. Start a new authorization.`);
    const grant = redeemed.grant;
    if (grant.clientId !== client.clientId) throw new OAuthError('invalid_grant', 'The authorization code was issued to another client.');
    if (redirectUri !== grant.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri must be identical to the one in the authorization request.');
    if (createHash('sha256').update(verifier).digest('base64url') !== grant.codeChallenge) {
      throw new OAuthError('invalid_grant', 'The PKCE code_verifier does not match the code_challenge.');
    }
    const session = await this.sessions.create(grant.email, this.families.lifetimeSeconds);
    const refreshToken = await this.families.create({ familyId: grant.familyId, clientId: client.clientId, email: grant.email, sessionId: session.sessionId, resource: grant.resource, scope: grant.scope });
    const access = await this.tokens.issue(session, { audience: grant.resource, clientId: client.clientId, scopes: grant.scope?.split(' ') });
    return { access_token: access.accessToken, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refreshToken, scope: access.scope };
  }

  private async refresh(body: Params, client: OAuthClient): Promise<TokenResponse> {
    const token = str(body.refresh_token, 256);
    if (!token) throw new OAuthError('invalid_request', 'Send the refresh token as "refresh_token".');
    const result = await this.families.rotate(token, client.clientId);
    if (result.status === 'reused') {
      await this.revokeFamily(result.family, 'refresh token reuse');
      this.metrics.securityViolations.inc({ reason: 'refresh_token_reuse' });
      this.audit.record({ event: 'security_violation', outcome: 'denied', user: result.family.email, detail: { reason: 'refresh_token_reuse', clientId: client.clientId } });
      throw new OAuthError('invalid_grant', 'This refresh token was already used; the whole token family has been revoked. Sign in again.');
    }
    if (result.status !== 'rotated') throw new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked. Sign in again.');
    const session = await this.sessions.find(result.family.sessionId);
    if (!session) throw new OAuthError('invalid_grant', 'The session of this refresh token has ended (logout or revocation). Sign in again.');
    const access = await this.tokens.issue(session, { audience: result.family.resource, clientId: client.clientId, scopes: result.family.scope?.split(' ') });
    return { access_token: access.accessToken, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: result.token, scope: access.scope };
  }

  private async revokeFamily(family: RefreshFamily, reason: string): Promise<void> {
    await this.families.revoke(family.familyId);
    await this.endSession(family.sessionId);
    this.audit.record({ event: 'revoke', outcome: 'success', user: family.email, detail: { reason, clientId: family.clientId } });
  }

  private async endSession(sessionId: string): Promise<void> {
    const session = await this.sessions.find(sessionId);
    if (session) await this.sessions.end(session);
  }

}
