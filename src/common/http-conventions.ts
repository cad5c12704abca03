import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './domain-error.js';

/**
 * Routes that take an HTML form (`application/x-www-form-urlencoded`) by design: the OAuth endpoints of RFC 6749 /
 * RFC 7009 / RFC 7662, the consent page's form, and /auth/revoke (form or JSON). Every other body is JSON.
 */
export const FORM_ROUTES: ReadonlySet<string> = new Set(['/oauth/token', '/oauth/revoke', '/oauth/introspect', '/oauth/authorize/decision', '/auth/revoke']);

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The route patterns of one Fastify instance, to tell "no such path" (404) from "not with this method" (405). */
const routeTables = new WeakMap<FastifyInstance, RouteTable>();

class RouteTable {
  private readonly routes: { pattern: RegExp; methods: Set<string> }[] = [];

  add(url: string, methods: readonly string[]): void {
    // `*` catch-alls (CORS preflight, static files below /docs) would make every path look like it exists.
    if (url === '*' || url === '/*') return;
    const pattern = new RegExp(`^${url.split('/').map(segmentPattern).join('/')}/?$`);
    const known = this.routes.find((r) => r.pattern.source === pattern.source);
    if (known) for (const m of methods) known.methods.add(m);
    else this.routes.push({ pattern, methods: new Set(methods) });
  }

  methodsFor(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.routes) if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    return [...methods].sort();
  }
}

function segmentPattern(segment: string): string {
  if (segment.startsWith(':')) return '[^/]+';
  if (segment === '*') return '.*';
  return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * HTTP conventions Fastify does not give by itself (written here because no plugin does both with our error body):
 * a 415 with a hint when a JSON route receives another media type (Nest parses form bodies on every route, so a form
 * would otherwise be validated as if it were JSON), and the route table behind 405 + `Allow`. Call before routes are
 * registered (route registration happens at init).
 */
export function registerHttpConventions(fastify: FastifyInstance): void {
  const table = new RouteTable();
  routeTables.set(fastify, table);
  fastify.addHook('onRoute', (route) => {
    table.add(route.url, ([] as string[]).concat(route.method));
  });
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    const problem = mediaTypeProblem(request);
    if (problem) done(problem);
    else done(null, payload);
  });
}

/** The methods the path answers to, when it exists with other methods than the request's (for a 405). */
export function allowedMethods(request: FastifyRequest): string[] | undefined {
  const table = routeTables.get(request.server);
  if (!table) return undefined;
  const path = request.url.split('?')[0] ?? '/';
  const methods = table.methodsFor(path);
  return methods.length && !methods.includes(request.method) ? methods : undefined;
}

function mediaTypeProblem(request: FastifyRequest): DomainError | undefined {
  // The cheap checks first: `routeOptions` builds a new object on every read, and most requests are GETs without a body.
  if (!BODY_METHODS.has(request.method) || !hasBody(request)) return undefined;
  const route = request.routeOptions.url;
  if (!route) return undefined;
  const type = String(request.headers['content-type'] ?? '');
  if (JSON_TYPE.test(type)) return undefined;
  if (FORM_ROUTES.has(route)) {
    return FORM_TYPE.test(type) ? undefined : unsupported(`${route} takes an application/x-www-form-urlencoded body${route === '/auth/revoke' ? ' or a JSON one' : ''}`, type);
  }
  return unsupported(`${route} takes a JSON body: send it with "Content-Type: application/json"`, type);
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

function unsupported(expected: string, got: string): DomainError {
  const sent = got ? `it was sent as ${got.split(';')[0]}` : 'it was sent without a Content-Type';
  return new DomainError(415, 'unsupported_media_type', `This request body cannot be read: ${expected}; ${sent}. Fix the header (and the body) and retry.`);
}

/**
 * Fastify's `frameworkErrors`: errors its router raises before any route or hook runs, a path with a malformed
 * percent-escape (`%ZZ`, FST_ERR_BAD_URL) in practice. Fastify's own answer skips every hook (no security headers,
 * no request id, no request line in the log) and echoes the path back; this one is our error body with both, says
 * how to fix the URL, and hands the request to `answered` to be logged like any other.
 */
export function frameworkErrorAnswer(headers: Record<string, string>, answered: (request: FastifyRequest, status: number) => void) {
  return (error: { code?: string }, request: FastifyRequest, reply: FastifyReply): void => {
    const message =
      error.code === 'FST_ERR_BAD_URL'
        ? 'The URL path has a malformed percent-escape (a "%" must be followed by two hexadecimal digits). Encode each path segment (encodeURIComponent) and send the request again.'
        : 'The request could not be routed. Check the URL and send it again.';
    reply.headers(headers).header('x-request-id', request.id).header('cache-control', 'no-store').code(400).send({ statusCode: 400, error: 'bad_url', message });
    // Fastify runs no onResponse hook for these: the request line (a probe, often) is written here.
    answered(request, 400);
  };
}
