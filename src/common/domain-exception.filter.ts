import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './domain-error.js';
import { allowedMethods } from './http-conventions.js';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

const GENERIC_NEXT_STEP = 'Retry the request; if it keeps failing, contact the operators with the time of the request.';

/**
 * The one place errors become HTTP: domain errors keep their status and guidance, framework errors keep their
 * status with a readable message, anything else is a 500 whose details stay in the log, never in the response.
 */
@Catch()
export class DomainExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const { body, headers } = this.wrongMethod(exception, request) ?? oauthShaped(this.toBody(exception), request);
    if (reply.sent) return;
    for (const [name, value] of Object.entries(headers)) reply.header(name, value);
    reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  /** The router's 404 for a path that exists with other methods is a 405 naming them (RFC 9110 section 15.5.6). */
  private wrongMethod(exception: unknown, request: FastifyRequest | undefined): { body: ErrorBody; headers: Record<string, string> } | undefined {
    if (!(exception instanceof NotFoundException) || !request?.server || request.routeOptions?.url) return undefined;
    const allow = allowedMethods(request);
    if (!allow) return undefined;
    const message = `${request.method} is not allowed on this path; it answers to ${allow.join(', ')}. Use one of those methods (see /docs).`;
    return { body: { statusCode: 405, error: 'method_not_allowed', message }, headers: { allow: allow.join(', ') } };
  }

  private toBody(exception: unknown): { body: ErrorBody; headers: Record<string, string> } {
    if (exception instanceof DomainError) {
      const body: ErrorBody & { error_description?: string } = { ...exception.details, statusCode: exception.status, error: exception.error, message: exception.message };
      // OAuth endpoints: RFC 6749 section 5.2 clients read `error_description`.
      if (exception.oauth) body.error_description = exception.message;
      return { body, headers: exception.headers };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const message = Array.isArray(raw) ? raw.join('; ') : String(raw ?? exception.message);
      return { body: { statusCode: status, error: errorName(status), message: withNextStep(status, message) }, headers: {} };
    }
    const fastifyStatus = (exception as { statusCode?: unknown })?.statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      // Fastify's own client errors (malformed JSON body, unsupported media type, body too large).
      const message = (exception as Error).message ?? 'The request could not be read';
      return {
        body: { statusCode: fastifyStatus, error: errorName(fastifyStatus), message: `${message}. Fix the request body or headers and retry.` },
        headers: {},
      };
    }
    this.logger.error({ msg: 'unhandled error', error: (exception as Error)?.name, detail: (exception as Error)?.message });
    return { body: { statusCode: 500, error: 'internal_error', message: `Internal error. ${GENERIC_NEXT_STEP}` }, headers: {} };
  }
}

/**
 * Marks a route whose callers are OAuth clients (`@RouteConfig(oauthErrors(code))`) with the code its unreadable
 * requests get: RFC 6749's `invalid_request`, or RFC 7591's `invalid_client_metadata` for registration. See oauthShaped.
 */
export function oauthErrors(code: 'invalid_request' | 'invalid_client_metadata'): { oauthErrors: string } {
  return { oauthErrors: code };
}

/** A body that could not be parsed, was too large, or was of a media type the route does not take. */
const UNREADABLE_REQUEST = new Set([400, 413, 415]);
/**
 * The per-IP rate limit (common/rate-limits.ts, too_many_requests) and an instance whose server is closing
 * (health/lifecycle.ts, shutting_down): RFC 6749's temporarily_unavailable.
 */
const UNAVAILABLE = new Set([429, 503]);

/**
 * A request refused before an OAuth endpoint's handler ran (a body the framework could not parse, a media type or size
 * it refuses, the per-IP rate limit, a shutdown) in RFC 6749 section 5.2's shape as well: OAuth clients decide from
 * `error`, and the MCP SDK reads a code it does not know as `server_error`, which at a refresh means sending the person
 * through consent again. A rate-limited or shutting-down refusal is `temporarily_unavailable` (with its Retry-After),
 * as the client metadata document fetch's 429 already was: the SDK then reports it and keeps its refresh token. The
 * service's or framework's own name is kept as `reason`. The handler's own errors are OAuth-shaped already (OAuthError).
 */
function oauthShaped(answer: { body: ErrorBody; headers: Record<string, string> }, request: FastifyRequest | undefined): { body: ErrorBody; headers: Record<string, string> } {
  const { body } = answer;
  const refused = UNREADABLE_REQUEST.has(body.statusCode) || UNAVAILABLE.has(body.statusCode);
  if (!refused || 'error_description' in body) return answer;
  const code = (request?.routeOptions?.config as { oauthErrors?: string } | undefined)?.oauthErrors;
  if (!code) return answer;
  const error = UNAVAILABLE.has(body.statusCode) ? 'temporarily_unavailable' : code;
  return { ...answer, body: { ...body, error, error_description: body.message, reason: body.error } as ErrorBody };
}

function errorName(status: number): string {
  const names: Record<number, string> = {
    400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed',
    406: 'not_acceptable', 409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type', 429: 'too_many_requests',
  };
  return names[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
}

function withNextStep(status: number, message: string): string {
  if (status === 404) return `${message}. See /docs for the routes this service offers (the OpenAPI document is /openapi.json).`;
  return message;
}
