import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { outputJsonSchema } from './workspace/catalogue/operation-input.js';
import { WORKSPACE_CATALOGUE } from './workspace/catalogue/catalogue.js';
import type { WorkspaceOperation } from './workspace/catalogue/operation.js';
import { DOCUMENTED_OPERATIONS, type DocumentedOperation } from './openapi-operations.js';

type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; description?: string; schema?: Record<string, unknown>; required?: boolean }>;
  requestBody?: unknown;
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }>;
  security?: Array<Record<string, string[]>>;
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const ERROR_REF = { $ref: '#/components/schemas/Error' };
const OAUTH_ERROR_REF = { $ref: '#/components/schemas/OAuthError' };
const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } } };
const BASIC_CHALLENGE = { 'WWW-Authenticate': { description: 'Basic realm="oauth": authenticate the client (RFC 6749 section 5.2)', schema: { type: 'string' } } };

/** Why each error status happens, as the response description a generated client shows. */
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: the message names the field and the rule',
  401: 'No valid bearer token (missing, malformed, expired or of an ended session), or the Google grant is gone (reauth_required)',
  403: 'Not allowed: another user, or a Google scope not granted (the body names the scope)',
  404: 'No such resource',
  409: 'Conflict reported by Google',
  413: 'Body too large',
  415: 'Body not in the media type this route takes',
  429: 'Rate limited (Retry-After says when to retry)',
  500: 'Internal error (details in the log, never in the response)',
  502: 'Google failed or could not be reached; nothing was changed, retry',
  503: 'Storage (S3) unavailable (storage_unavailable), or the instance is shutting down (shutting_down: another instance answers the retry); retry after Retry-After seconds',
};

/**
 * The files of swagger-ui-dist that Swagger UI's page at /docs loads (its HTML and swagger-ui-init.js are routes of
 * their own). SwaggerModule serves the whole package directory below /docs, which also held its package.json (the
 * exact version, contributors' addresses, its dependencies), README, source maps and the Node-only index.js: nothing
 * a browser needs, and what a scanner of a public service flags.
 */
export const DOCS_ASSETS: ReadonlySet<string> = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-16x16.png', 'favicon-32x32.png']);

/** OpenAPI 3.1 from the real controllers, completed from the Workspace catalogue: /openapi.json, Swagger UI at /docs. */
export function setUpOpenApi(app: NestFastifyApplication): void {
  // The static routes SwaggerModule adds (`/docs/*`, `/docs/docs/*`) answer only DOCS_ASSETS; the rest is a 404.
  app.getHttpAdapter().getInstance().addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs/') && route.url.endsWith('/*')) route.onRequest = [...[route.onRequest ?? []].flat(), onlyDocsAssets];
  });
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Google Workspace credential broker')
    .setDescription(
      'Act on Google Workspace on behalf of many users: Google sign-in, bearer sessions, OAuth 2.1, Workspace REST. Sign in at /auth/google and send the token as `Authorization: Bearer <token>`. Every error is JSON `{"statusCode","error","message"}` whose message says what to do next.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .build();
  // Built on the first request for it (SwaggerModule keeps it then), not at boot: the scan and the document are
  // 2 MB of heap that a replica serving only API calls would hold for nothing.
  const document = () => completeDocument(SwaggerModule.createDocument(app, config));
  // validatorUrl 'none': Swagger UI otherwise has every visitor's browser send this document's public URL to
  // validator.swagger.io for a badge (the page's CSP refuses the request, but it is still attempted).
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml', swaggerOptions: { validatorUrl: 'none' } });
}

function onlyDocsAssets(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (DOCS_ASSETS.has((request.params as { '*'?: string })['*'] ?? '')) done();
  else reply.callNotFound();
}

/**
 * What Nest's scanner cannot see: summaries and descriptions, the answer's schema and real status (several routes
 * write the reply themselves), every error status with the error body, the bearer of /auth/revoke, `userId`'s default.
 */
export function completeDocument(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, Error: errorSchema(), OAuthError: oauthErrorSchema() };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = (item as Record<string, Operation | undefined>)[method];
      if (!operation) continue;
      const workspaceOp = findWorkspaceOperation(method, path);
      if (workspaceOp) completeWorkspaceOperation(operation, workspaceOp);
      else {
        const documented = DOCUMENTED_OPERATIONS[`${method.toUpperCase()} ${path}`];
        if (documented) completeOtherOperation(operation, documented);
      }
      addCommonErrors(operation);
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'path' && parameter.name === 'userId') {
          parameter.description = '`me` or your own email';
          parameter.schema = { type: 'string', default: 'me' };
        }
      }
    }
  }
  return document;
}

function errorSchema(): Record<string, unknown> {
  return {
    type: 'object',
    description: 'Every error of this service. Some carry more fields (e.g. `scope` to grant on a 403 insufficient_scope; `error_description` on OAuth endpoints).',
    properties: {
      statusCode: { type: 'integer', description: 'The HTTP status' },
      error: { type: 'string', description: 'A stable machine-readable code, e.g. invalid_request, missing_token, insufficient_scope' },
      message: { type: 'string', description: 'What went wrong and what to do next' },
      error_description: { type: 'string', description: 'OAuth endpoints (RFC 6749 section 5.2): the same text as message' },
      scope: { type: 'string', description: 'The Google scope to grant (403 insufficient_scope)' },
    },
    required: ['statusCode', 'error', 'message'],
    additionalProperties: true,
  };
}

/**
 * The errors of the OAuth endpoints OAuth clients read (token, revocation, introspection, registration): what their
 * libraries decide from is `error` (retry, refresh, or a new authorization), so it is always one RFC 6749 defines.
 */
function oauthErrorSchema(): Record<string, unknown> {
  return {
    type: 'object',
    description:
      "RFC 6749 section 5.2's error (RFC 7591 section 3.2.2's at registration), plus the service's own statusCode and message for people. A failure of the service itself (storage, a metadata document host) or the rate limit is temporarily_unavailable with Retry-After, never a code an OAuth client does not know (the MCP SDK reads one as server_error and starts a new authorization in the person's browser).",
    properties: {
      error: {
        type: 'string',
        description: 'The OAuth error code clients decide from',
        examples: ['invalid_request', 'invalid_client', 'invalid_grant', 'unsupported_grant_type', 'invalid_client_metadata', 'temporarily_unavailable'],
      },
      error_description: { type: 'string', description: 'What went wrong and what to do next (the same text as message)' },
      reason: { type: 'string', description: "The service's own code behind a generic error: storage_unavailable or too_many_requests behind temporarily_unavailable; bad_request, payload_too_large or unsupported_media_type behind a request that could not be read" },
      statusCode: { type: 'integer', description: 'The HTTP status' },
      message: { type: 'string', description: 'The same text as error_description' },
    },
    required: ['statusCode', 'error', 'error_description', 'message'],
    additionalProperties: true,
  };
}

function findWorkspaceOperation(method: string, path: string): WorkspaceOperation | undefined {
  const prefix = '/v1/users/{userId}/';
  if (!path.startsWith(prefix)) return undefined;
  const route = path.slice(prefix.length).replace(/\{(\w+)\}/g, ':$1');
  return WORKSPACE_CATALOGUE.find((op) => op.http.method === method.toUpperCase() && op.http.path === route);
}

function completeWorkspaceOperation(operation: Operation, op: WorkspaceOperation): void {
  operation.summary = op.title;
  operation.description = `${op.description}\n\nNeeds the Google scope ${op.scope} (any one of the scopes named in the 403 when missing). MCP tool: \`${op.tool}\`.`;
  const [status, response] = successOf(operation);
  if (status === '204') operation.responses[status] = { description: response.description || 'Done; no body' };
  else operation.responses[status] = { ...response, description: response.description || op.title, content: { 'application/json': { schema: outputJsonSchema(op) } } };
  // 403: another user's data or a scope not granted; 404/409/429/502: Google's answers, mapped.
  for (const code of [403, 404, 409, 429, 502]) addError(operation, code);
}

function completeOtherOperation(operation: Operation, documented: DocumentedOperation): void {
  operation.summary = documented.summary;
  operation.description = documented.description;
  const [status] = successOf(operation);
  delete operation.responses[status];
  const { success } = documented;
  operation.responses[String(success.status)] = {
    description: success.description,
    ...(success.headers ? { headers: success.headers } : {}),
    ...(success.schema ? { content: { [success.contentType ?? 'application/json']: { schema: success.schema } } } : {}),
  };
  if (documented.bearer) operation.security = [{ bearer: [] }];
  for (const [code, meaning] of Object.entries(documented.oauthErrors ?? {})) {
    const headers = code === '401' ? BASIC_CHALLENGE : code === '429' || code === '503' ? RETRY_AFTER : undefined;
    operation.responses[code] = { description: meaning, ...(headers ? { headers } : {}), content: { 'application/json': { schema: OAUTH_ERROR_REF } } };
  }
  if (documented.requestBody) operation.requestBody = { required: false, content: documented.requestBody };
  for (const code of documented.errors ?? []) addError(operation, code);
  for (const [code, body] of Object.entries(documented.errorBodies ?? {})) {
    operation.responses[code] = { description: body.description, content: { 'application/json': { schema: body.schema } } };
  }
  if (documented.errorPages) {
    addError(operation, 503);
    for (const [code, response] of Object.entries(operation.responses)) {
      if (/^[45]\d\d$/.test(code) && response.content) response.content['text/html'] = { schema: { type: 'string', description: 'The error page a browser is shown' } };
    }
  }
}

/** Errors any route of its kind can answer: 400 with input, 401 with a bearer, 413/415 with a body, 500 and 503 always. */
function addCommonErrors(operation: Operation): void {
  if (operation.parameters?.some((p) => p.in === 'query' || (p.in === 'path' && p.name !== 'userId')) || operation.requestBody) addError(operation, 400);
  if (operation.security?.length) addError(operation, 401);
  if (operation.requestBody) {
    addError(operation, 413);
    addError(operation, 415);
  }
  addError(operation, 500);
  addError(operation, 503); // S3, and every route once the instance's server is closing (ShuttingDownError)
}

function addError(operation: Operation, status: number): void {
  const key = String(status);
  if (operation.responses[key]?.content) return;
  // 429 and 503 always say when to retry (storage, a dependency, an instance shutting down).
  const headers = status === 429 || status === 503 ? { headers: RETRY_AFTER } : {};
  operation.responses[key] = { description: ERROR_DESCRIPTIONS[status] ?? 'Error', ...headers, content: { 'application/json': { schema: ERROR_REF } } };
}

function successOf(operation: Operation): [string, Operation['responses'][string]] {
  const entry = Object.entries(operation.responses).find(([code]) => /^2\d\d$/.test(code));
  return entry ?? ['200', { description: '' }];
}
