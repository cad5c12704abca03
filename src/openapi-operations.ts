import { READINESS_REASONS } from './health/readiness-reason.js';

/**
 * OpenAPI facts of the routes outside the Workspace catalogue (sign-in, OAuth, health, metrics), which the
 * controllers cannot tell Swagger by themselves: what each does, the status it really answers with (several write
 * the reply themselves), the shape of the answer, and the errors it can give besides the ones every route can.
 * The Workspace routes get theirs from the catalogue (src/workspace/catalogue). Keyed by `METHOD /path`.
 */
export interface DocumentedOperation {
  summary: string;
  description: string;
  /** The success status and its body; `schema` absent for an empty body. */
  success: { status: number; description: string; schema?: Record<string, unknown>; contentType?: string; headers?: Record<string, unknown> };
  /** Error statuses beyond the common ones (400 when it takes input, 401 when it needs a bearer, 500, 503). */
  errors?: number[];
  /** The body the route reads, per media type (the controllers take it untyped, as the OAuth RFCs define it). */
  requestBody?: Record<string, { schema: Record<string, unknown> }>;
  /** Error statuses whose body is not the common error body. */
  errorBodies?: Record<number, { description: string; schema: Record<string, unknown> }>;
  /**
   * Error statuses answered in RFC 6749's error shape (the OAuthError schema), each with what it means at this
   * endpoint: the errors OAuth clients read, which decide whether they retry, refresh or start over.
   */
  oauthErrors?: Record<number, string>;
  /** Errors also come as an HTML page, to a browser (one that prefers text/html). */
  errorPages?: boolean;
  /** The route needs `Authorization: Bearer` although it is public to the guard (it reads the token itself). */
  bearer?: boolean;
}

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({ type: 'object', properties, required });

const tokenResponse = obj(
  { access_token: str, token_type: { type: 'string', enum: ['Bearer'] }, expires_in: int, refresh_token: str, scope: str },
  ['access_token', 'token_type', 'expires_in'],
);
const signedIn = obj({ access_token: str, token_type: { type: 'string', enum: ['Bearer'] }, expires_in: int, email: { type: 'string', format: 'email' }, session_id: str });
const metadata = { type: 'object', additionalProperties: true, description: 'RFC 8414 / RFC 9728 metadata' };
const health = obj({ status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] }, info: { type: 'object', additionalProperties: true }, error: { type: 'object', additionalProperties: true }, details: { type: 'object', additionalProperties: true } }, ['status']);
const form = (properties: Record<string, unknown>, required: string[]) => ({ 'application/x-www-form-urlencoded': { schema: obj(properties, required) } });
const location = { Location: { description: 'Where the browser goes next', schema: { type: 'string', format: 'uri' } } };

/** What the OAuth endpoints' shared refusals mean (the per-endpoint 400s and 401s are written next to each). */
const OAUTH_UNREADABLE = "invalid_request (invalid_client_metadata at registration), reason the framework's code";
const oauthRefusals = (badRequest: string, more: Record<number, string> = {}): Record<number, string> => ({
  400: `${badRequest}; a body that could not be parsed: ${OAUTH_UNREADABLE} (bad_request)`,
  ...more,
  413: `Body too large: ${OAUTH_UNREADABLE} (payload_too_large)`,
  415: `Body not form-encoded (JSON at registration): ${OAUTH_UNREADABLE} (unsupported_media_type)`,
  429: 'temporarily_unavailable: the per-IP rate limit (reason too_many_requests), or, for a client metadata document client, too many document fetches from your address; retry after Retry-After seconds',
  503: 'temporarily_unavailable: storage (S3) failed (reason storage_unavailable), or a client metadata document could not be fetched just now; nothing was changed or the change is safe to repeat: retry after Retry-After seconds. An instance shutting down answers temporarily_unavailable too (reason shutting_down): nothing was done; retry, another instance answers.',
});
const INVALID_CLIENT = 'invalid_client: unknown client, or its authentication failed (WWW-Authenticate: Basic realm="oauth")';

export const DOCUMENTED_OPERATIONS: Record<string, DocumentedOperation> = {
  'GET /auth/google': {
    summary: 'Start Google sign-in',
    description: "Redirects the browser to Google's consent page (authorization code with PKCE). Open it in a browser; the callback answers the bearer token.",
    success: { status: 302, description: "Redirect to Google's consent page (or first to PUBLIC_URL's host)", headers: location },
    errors: [429],
  },
  'GET /auth/google/callback': {
    summary: 'Finish Google sign-in',
    description: 'Google redirects here. Answers the bearer token as JSON (an HTML page with the token to a browser that prefers text/html). A used or reloaded link answers 400: start again at /auth/google.',
    success: { status: 200, description: 'Signed in', schema: signedIn },
    errors: [400, 401, 403, 429, 502, 503],
  },
  'GET /auth/session': {
    summary: 'Describe the current session',
    description: "The bearer's session: who, since when, until when, the scopes granted and the state of the Google credentials.",
    success: {
      status: 200,
      description: 'The session',
      schema: obj(
        {
          email: str,
          session_id: str,
          issued_at: str,
          expires_at: str,
          scopes: { type: 'array', items: str },
          google: obj({ expires_at: { type: ['string', 'null'] }, has_refresh_token: { type: 'boolean' } }, ['has_refresh_token']),
        },
        ['email', 'session_id', 'expires_at'],
      ),
    },
  },
  'POST /auth/logout': {
    summary: 'End this session',
    description: "Ends the bearer's session only; the user's Google credentials and other sessions stay.",
    success: { status: 204, description: 'Session ended' },
  },
  'POST /auth/revoke': {
    summary: 'Revoke the account',
    description:
      "Ends every session of the token's user, deletes the stored Google credentials and revokes the grant at Google. The token is the bearer of the Authorization header, or `token` in a JSON or form body. Idempotent: a valid token whose session is already gone gets 200 and changes nothing.",
    success: { status: 200, description: 'Revoked', schema: obj({ revoked: { type: 'boolean', enum: [true] } }) },
    requestBody: { ...form({ token: str }, []), 'application/json': { schema: obj({ token: str }, []) } },
    errors: [400, 413, 415, 429, 502],
    bearer: true,
  },
  'GET /auth/clients': {
    summary: 'List connected applications',
    description:
      "The OAuth clients (MCP clients, API consumers) the token's user has approved, from the user's approvals: `client_id`, the scopes and resources allowed, and when. Needs the bearer of the person's own browser sign-in: an OAuth client's token is 403 `client_token_not_allowed`.",
    success: {
      status: 200,
      description: 'The approved clients, oldest approval first',
      schema: obj({ clients: { type: 'array', items: obj({ client_id: str, scopes: { type: 'array', items: str }, resources: { type: 'array', items: str }, approved_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' } }) } }),
    },
    errors: [403],
    bearer: true,
  },
  'DELETE /auth/clients/{clientId}': {
    summary: 'Disconnect one application',
    description:
      "Disconnects one OAuth client of the token's user (`clientId` URL-encoded): deletes the user's approval (the consent page is shown again), revokes the refresh tokens and ends the sessions issued to that client. The Google grant, the user's other clients and the browser sessions stay. Idempotent: an unknown or already disconnected client gets 200 and nothing changes. Needs the bearer of the person's own browser sign-in: an OAuth client's token is 403 `client_token_not_allowed`. 503 with Retry-After when S3 failed part-way: send it again to finish.",
    success: { status: 200, description: 'Disconnected', schema: obj({ disconnected: { type: 'boolean', enum: [true] } }) },
    errors: [403],
    bearer: true,
  },
  'GET /.well-known/oauth-authorization-server': {
    summary: 'OAuth authorization server metadata',
    description: 'RFC 8414 metadata of the OAuth 2.1 authorization server that MCP and other OAuth clients use.',
    success: { status: 200, description: 'Metadata', schema: metadata },
  },
  'GET /.well-known/jwks.json': {
    summary: 'Signing keys',
    description: 'The public keys that verify bearer tokens when they are ES256: the signing key (JWT_PRIVATE_KEY), then, during a key rotation, the keys also accepted (JWT_ACCEPTED_PUBLIC_KEYS); a token names its key in its `kid` header. With an HS256 secret there is none: 404 (a confidential client checks its own tokens at /oauth/introspect).',
    success: { status: 200, description: 'JSON Web Key Set', schema: obj({ keys: { type: 'array', items: { type: 'object', additionalProperties: true } } }) },
    errors: [404],
  },
  'POST /oauth/register': {
    summary: 'Register an OAuth client',
    description: 'RFC 7591 dynamic client registration (public clients with PKCE; redirect URIs on https or loopback).',
    success: { status: 201, description: 'The registered client', schema: { type: 'object', additionalProperties: true, properties: { client_id: str }, required: ['client_id'] } },
    requestBody: { 'application/json': { schema: { type: 'object', additionalProperties: true, properties: { redirect_uris: { type: 'array', items: str }, client_name: str }, required: ['redirect_uris'] } } },
    // 401 and 403 are the service's own: the initial access token (RFC 6750, OAUTH_REGISTRATION_TOKEN), registration off.
    errors: [401, 403],
    oauthErrors: oauthRefusals('invalid_client_metadata or invalid_redirect_uri (RFC 7591 section 3.2.2): the description names the field'),
  },
  'GET /oauth/authorize': {
    summary: 'OAuth authorization endpoint',
    description: 'Starts an OAuth 2.1 authorization (code + PKCE S256): Google sign-in, then the consent page; ends with a redirect to the client with a code.',
    success: { status: 302, description: 'Redirect to Google, to the consent page or back to the client', headers: location },
    // Errors the client can be told go back to its redirect URI (a 302 with error=); these are the ones that cannot:
    // an unusable client_id or redirect_uri (400, with error_description), the rate limit, Google, S3 (503 with
    // Retry-After, or temporarily_unavailable for a client metadata document that could not be fetched).
    errors: [400, 429, 502, 503],
    errorPages: true,
  },
  'POST /oauth/token': {
    summary: 'OAuth token endpoint',
    description: 'Exchanges an authorization code (with its PKCE verifier) or a refresh token for an access token. Form-encoded body (RFC 6749); errors follow RFC 6749 section 5.2.',
    success: { status: 200, description: 'Tokens', schema: tokenResponse },
    requestBody: form({ grant_type: { type: 'string', enum: ['authorization_code', 'refresh_token'] }, code: str, code_verifier: str, redirect_uri: str, client_id: str, refresh_token: str, resource: str, scope: str }, ['grant_type']),
    oauthErrors: oauthRefusals('invalid_request, invalid_grant (code or refresh token spent, expired, revoked: authorize again), unsupported_grant_type, unauthorized_client, invalid_scope or invalid_target', { 401: INVALID_CLIENT }),
  },
  'POST /oauth/revoke': {
    summary: 'OAuth token revocation',
    description: 'RFC 7009: revokes a refresh token (its whole grant) or an access token. Form-encoded body; an unknown token is not an error.',
    success: { status: 200, description: 'Revoked or unknown (an empty JSON object)', schema: { type: 'object', additionalProperties: false } },
    requestBody: form({ token: str, token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'] }, client_id: str }, ['token']),
    oauthErrors: oauthRefusals('invalid_request (no token)', { 401: INVALID_CLIENT }),
  },
  'POST /oauth/introspect': {
    summary: 'OAuth token introspection',
    description: 'RFC 7662: whether a token is active, for confidential clients and their own tokens; any other token is {"active":false} and nothing more. Form-encoded body; needs client authentication.',
    success: { status: 200, description: 'Introspection result', schema: { type: 'object', properties: { active: { type: 'boolean' } }, required: ['active'], additionalProperties: true } },
    requestBody: form({ token: str, token_type_hint: str, client_id: str, client_secret: str }, ['token']),
    oauthErrors: oauthRefusals('invalid_request (no token, or client authentication sent twice)', { 401: `${INVALID_CLIENT}; a public or metadata document client` }),
  },
  'GET /.well-known/oauth-protected-resource': {
    summary: 'Protected resource metadata (whole service)',
    description: 'RFC 9728 metadata of the whole service as a protected resource: which authorization server issues its tokens and the scopes to ask for.',
    success: { status: 200, description: 'Metadata', schema: metadata },
  },
  'GET /.well-known/oauth-protected-resource/{path}': {
    summary: 'Protected resource metadata (one resource)',
    description: 'RFC 9728 metadata of one resource below the service (e.g. /mcp or a Workspace API), named by its path.',
    success: { status: 200, description: 'Metadata', schema: metadata },
    errors: [404],
  },
  'GET /health/live': {
    summary: 'Liveness',
    description: 'Answers 200 while the process runs; checks no dependency.',
    success: { status: 200, description: 'Alive', schema: health },
  },
  'GET /health/ready': {
    summary: 'Readiness',
    description: `Checks S3: info.s3 has status, latencyMs, slow (slower than the service's threshold: reported, not failed) and thresholdMs. 503 while S3 fails (error.s3.reason is one of ${READINESS_REASONS.join(', ')}; the detail is in the service's log) or the service is shutting down.`,
    success: { status: 200, description: 'Ready', schema: health },
    errorBodies: { 503: { description: 'Not ready: S3 unreachable, or shutting down', schema: { ...health, properties: { ...health.properties, statusCode: int, message: str } } } },
  },
};

