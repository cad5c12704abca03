import { MAX_SCOPE_LENGTH } from './scope-request.js';
import { Injectable, Logger } from '@nestjs/common';
import { timingSafeEqual, createHash } from 'node:crypto';
import { DomainError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { GrantType, TokenEndpointAuthMethod } from './oauth-client.js';
import { clientUriProblem, displayedStringProblem } from './client-metadata-rules.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { OAuthError } from './oauth-error.js';
import { redirectUriProblem } from './redirect-uris.js';

/** Registration limits: a registration is anonymous, so what it may store is bounded. */
export const REGISTRATION_LIMITS = { redirectUris: 5, stringLength: 512, nameLength: 100, bodyBytes: 16 * 1024 } as const;

const AUTH_METHODS: TokenEndpointAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];
const GRANT_TYPES: GrantType[] = ['authorization_code', 'refresh_token'];

/** RFC 7591 dynamic client registration, bounded, optionally behind an initial access token (RFC 7591 section 3). */
@Injectable()
export class ClientRegistration {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly config: AppConfig,
  ) {}

  /** Registers a client from its metadata; `authorization` is the request's Authorization header. */
  async register(body: unknown, authorization: string | undefined) {
    const { dynamicRegistration, registrationToken } = this.config.values.oauth;
    if (!dynamicRegistration) {
      throw new DomainError(403, 'registration_disabled', 'Dynamic client registration is switched off on this server. Ask the operators for a client (OAUTH_STATIC_CLIENTS).');
    }
    if (registrationToken && !bearerMatches(authorization, registrationToken)) {
      throw new DomainError(401, 'invalid_token', 'Registration needs an initial access token: send "Authorization: Bearer <token>" with the token the operators gave you.', {
        'WWW-Authenticate': 'Bearer error="invalid_token", error_description="registration requires an initial access token"',
      });
    }
    const m = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    const { redirectUris: maxUris, stringLength, nameLength } = REGISTRATION_LIMITS;
    const uris = m.redirect_uris;
    if (!Array.isArray(uris) || uris.length === 0 || uris.length > maxUris || !uris.every((u) => typeof u === 'string')) {
      throw new OAuthError('invalid_redirect_uri', `"redirect_uris" must be a list of 1 to ${maxUris} absolute URIs.`);
    }
    for (const uri of uris as string[]) {
      const problem = redirectUriProblem(uri);
      if (problem) throw new OAuthError('invalid_redirect_uri', `${problem}.`);
    }
    const method = (m.token_endpoint_auth_method ?? 'client_secret_basic') as TokenEndpointAuthMethod;
    if (!AUTH_METHODS.includes(method)) {
      throw new OAuthError('invalid_client_metadata', '"token_endpoint_auth_method" must be none, client_secret_basic or client_secret_post.');
    }
    const grantTypes = (m.grant_types ?? ['authorization_code', 'refresh_token']) as unknown[];
    if (!Array.isArray(grantTypes) || grantTypes.length === 0 || grantTypes.some((g) => !GRANT_TYPES.includes(g as GrantType))) {
      throw new OAuthError('invalid_client_metadata', '"grant_types" may hold authorization_code and refresh_token only.');
    }
    if (!grantTypes.includes('authorization_code')) {
      throw new OAuthError('invalid_client_metadata', '"grant_types" must include authorization_code (the only way to obtain tokens here).');
    }
    const responseTypes = (m.response_types ?? ['code']) as unknown[];
    if (!Array.isArray(responseTypes) || responseTypes.length === 0 || responseTypes.some((r) => r !== 'code')) {
      throw new OAuthError('invalid_client_metadata', '"response_types" may hold "code" only.');
    }
    const clientName = optionalString(m, 'client_name', nameLength);
    const clientUri = optionalString(m, 'client_uri', stringLength);
    const uriProblem = clientUri && clientUriProblem(clientUri);
    if (uriProblem) throw new OAuthError('invalid_client_metadata', `"client_uri" ${uriProblem}: send the application's home page as an https URL such as https://app.example.`);
    for (const [key, value] of Object.entries(m)) {
      // MCP clients register with every scope of the resource's challenge (all of /mcp's: ~700 characters).
      const limit = key === 'scope' ? MAX_SCOPE_LENGTH : stringLength;
      if (typeof value === 'string' && value.length > limit) throw new OAuthError('invalid_client_metadata', `"${key}" is longer than ${limit} characters.`);
    }
    const uniqueGrants = [...new Set(grantTypes as GrantType[])];
    const { client, secret } = await this.clients.register({ clientName, clientUri, redirectUris: uris as string[], tokenEndpointAuthMethod: method, grantTypes: uniqueGrants });
    this.logger.log({ msg: 'oauth client registered', event: 'client_registered', clientId: client.clientId, method });
    return {
      client_id: client.clientId,
      ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
      client_id_issued_at: Math.floor(Date.parse(client.createdAt) / 1000),
      ...(clientName ? { client_name: clientName } : {}),
      ...(clientUri ? { client_uri: clientUri } : {}),
      redirect_uris: client.redirectUris,
      token_endpoint_auth_method: method,
      grant_types: uniqueGrants,
      response_types: ['code'],
    };
  }
}

/** An optional string the consent page may show: refused when it could read differently from what it is. */
function optionalString(m: Record<string, unknown>, key: string, max: number): string | undefined {
  const v = m[key];
  if (v === undefined) return undefined;
  const problem = typeof v !== 'string' ? 'is not a string' : v.length > max ? `is longer than ${max} characters` : displayedStringProblem(v);
  if (problem || typeof v !== 'string') {
    throw new OAuthError('invalid_client_metadata', `"${key}" ${problem}: send a non-empty string of at most ${max} characters, without control, invisible or text-direction characters.`);
  }
  return v;
}

/** Constant-time comparison of a Bearer header with the configured token. */
function bearerMatches(authorization: string | undefined, expected: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]), digest(expected));
}
