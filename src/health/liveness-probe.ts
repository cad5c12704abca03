import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { requestIdOf } from '../common/request-id.js';

/** The Fastify server options the HTTP/1 server is built from (what Fastify itself applies when it builds one). */
export interface ServerTimeouts {
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number;
}

/**
 * Node's server options for a whole-request timeout (none when 0): the headers get at most Node's own 60 s of it, and
 * Node checks both on an interval (30 s by default), often enough for a timeout of minutes, a quarter of a short one.
 */
function requestTimeouts(requestTimeout: number): ServerOptions {
  if (requestTimeout <= 0) return {};
  return { requestTimeout, headersTimeout: Math.min(60_000, requestTimeout), connectionsCheckingInterval: Math.max(250, Math.min(30_000, requestTimeout / 4)) };
}

/** Liveness's answer, wherever it is given (here and HealthController.live). */
export const LIVE_ANSWER = { status: 'ok' } as const;
const BODY = JSON.stringify(LIVE_ANSWER);

/**
 * Kubernetes' liveness probe (`GET /health/live`), answered by the HTTP server before Fastify and Nest see it.
 *
 * Why outside the framework: liveness says only "this process still answers", so it touches no dependency and runs
 * none of the per-request work the API needs (routing, guards, CORS, cookies, metrics, the request log line). The
 * kubelet polls it on every pod every few seconds, for the pod's whole life; answered here it costs what a bare
 * node:http hello costs plus the header block (issue 14, target 2: about 0.3 of bare node:http through Nest, where
 * the framework alone is 0.7). The answer is the same as the Nest route's (`HealthController.live`, which still
 * serves every other form of the URL: a query string, a trailing slash, HEAD): status, body, security headers and
 * request id. Not written to the request log and not counted in `http_request_duration_seconds`: one line per pod
 * every few seconds is noise that operators filter out anyway. While the service drains, the answer closes its
 * connection, as every other answer does.
 */
export class LivenessProbe {
  private draining: () => boolean = () => false;
  /** The header block as node:http's cheapest form: one flat [name, value, name, value, ...] array. */
  private readonly head: string[];

  /** `headers`: the security headers every answer carries. */
  constructor(headers: Record<string, string>) {
    this.head = [...Object.entries(headers), ['content-type', 'application/json; charset=utf-8'], ['content-length', String(Buffer.byteLength(BODY))]].flat();
  }

  /** From now on, answers close their connection while `state.draining` is true. */
  follow(state: { readonly draining: boolean }): void {
    this.draining = () => state.draining;
  }

  /**
   * Fastify's `serverFactory`: the HTTP/1 server Fastify would build (same timeouts), with the probe answered first.
   * Fastify calls it once per listening address.
   */
  readonly serverFactory = (handler: RequestListener, options: ServerTimeouts): Server => {
    const server = createServer(requestTimeouts(options.requestTimeout ?? 0), (req, res) =>
      req.url === '/health/live' && req.method === 'GET' ? this.answer(req, res) : handler(req, res),
    );
    // What Fastify does for the server it builds itself; without them Node's defaults would apply (a 5 s keep-alive
    // instead of Fastify's 72 s, shorter than a load balancer's idle timeout).
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const head = this.draining() ? [...this.head, 'connection', 'close'] : this.head.slice();
    head.push('x-request-id', requestIdOf(req.headers));
    res.writeHead(200, head);
    res.end(BODY);
    // The request has no body to wait for, but a client may send one: drop it rather than leave it in the socket.
    req.resume();
  }
}
