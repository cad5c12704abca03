import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { loggablePath } from './logging.js';
import type { Metrics } from './metrics.js';
import type { RequestLog, RequestOutcome, UnfinishedOutcome } from './request-log.js';

/** On a watched answer: its reply until the request is accounted for, then null (whichever path came first). */
const UNACCOUNTED = Symbol('unaccounted reply');
/** On a watched answer: its connection's bytesWritten when the request arrived (a kept-alive one carried earlier answers). */
const BYTES_BEFORE = Symbol('bytes written before this answer');

type Watched = ServerResponse & { [UNACCOUNTED]?: FastifyReply | null; [BYTES_BEFORE]?: number };

/** The metric's status label when the connection closed before any header went out. */
export const NO_STATUS = 'none';

/** Socket errors that mean the caller's side went away (a reset, or writes into a connection it had closed). */
const CALLER_GONE = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Exactly one request line and one `broker_http_request_duration_seconds` sample per request, also for an answer
 * that never finishes. Fastify's onResponse runs on the answer's `finish` only: a caller that leaves while the
 * service waits on Google, a download cut mid-body, an MCP stream whose client goes, a slow reader cut by
 * HTTP_SEND_TIMEOUT_MS left no trace, and operators count requests from these lines and samples.
 *
 * `watch` (an onRequest hook before the plugins' and any that waits) marks the answer as unaccounted and listens for its `close`, which node:http
 * emits for every answer: after `finish`, or when the connection closes first. `answered` (onResponse) and the close
 * listener each account the request only if it is still unaccounted, and clear the mark: a late `finish` after a
 * close (a handler that sends into a closed connection) or a `close` after onResponse finds nothing left to count.
 * A `close` with the answer finished is onResponse's, even when an async onResponse hook before it delays it.
 *
 * Fastify's onRequestAbort is not used: its `req.aborted` is false once a body was read whole (POST /mcp), and it
 * adds a closure per request. The listener here is one function for all requests; per request the hot path pays
 * two property writes, a bytesWritten read, one listener added and called, and one more onRequest hook: about
 * 0.1 µs of CPU (measured in-process against a request's 250-500 µs).
 */
export class RequestAccounting {
  private readonly onClose: (this: Watched) => void;

  constructor(
    private readonly log: RequestLog,
    private readonly metrics: Metrics,
  ) {
    this.onClose = closeListener(this);
  }

  /** From an onRequest hook that runs before anything can answer, wait or fail. */
  watch(reply: FastifyReply): void {
    const res = reply.raw as Watched;
    res[UNACCOUNTED] = reply;
    const socket = res.socket;
    res[BYTES_BEFORE] = socket?.bytesWritten ?? 0;
    // Node keeps a connection's peer address once read, and cannot read it once the connection is closed: read now,
    // a request that ends with its connection still has its `ip` (the completed path then finds it kept).
    void socket?.remoteAddress;
    res.on('close', this.onClose);
  }

  /** From onResponse: the answer went out whole. */
  answered(request: FastifyRequest, reply: FastifyReply): void {
    const res = reply.raw as Watched;
    // null: the close path counted it already. undefined: never watched (an onRequest hook before ours answered).
    if (res[UNACCOUNTED] === null) return;
    res[UNACCOUNTED] = null;
    this.account(request, reply.statusCode, reply.elapsedTime, 'completed');
  }

  /** A request Fastify answers before any hook (frameworkErrors: a malformed URL): no onResponse will run for it. */
  answeredBeforeRouting(request: FastifyRequest, status: number): void {
    this.account(request, status, undefined, 'completed');
  }

  /** The answer's `close`: counted here only when it closed before it finished. */
  closed(res: Watched): void {
    const reply = res[UNACCOUNTED];
    if (!reply || res.writableFinished) return;
    res[UNACCOUNTED] = null;
    const socket = res.socket;
    const bytes = Math.max(0, (socket?.bytesWritten ?? 0) - (res[BYTES_BEFORE] ?? 0));
    this.account(reply.request, sentStatus(res), reply.elapsedTime, closedBy(socket), bytes);
  }

  private account(request: FastifyRequest, status: number | undefined, elapsedMs: number | undefined, outcome: RequestOutcome, bytes?: number): void {
    const route = request.routeOptions.url ?? 'unmatched';
    const finite = elapsedMs !== undefined && Number.isFinite(elapsedMs);
    // A request answered before routing has no start time; it took no measurable time.
    this.metrics.httpDuration.observe({ method: request.method, route, status: status === undefined ? NO_STATUS : String(status), outcome }, finite ? elapsedMs / 1000 : 0);
    this.log.write({
      reqId: request.id,
      method: request.method,
      route,
      path: loggablePath(request.url),
      status,
      ms: finite ? Math.round(elapsedMs * 10) / 10 : undefined,
      ip: request.ip,
      outcome: outcome === 'completed' ? undefined : outcome,
      bytes,
    });
  }
}

/** The one `close` listener of every answer an accounting watches (a function of its own: `this` is the answer). */
function closeListener(accounting: RequestAccounting): (this: Watched) => void {
  return function onAnswerClose(this: Watched) {
    accounting.closed(this);
  };
}

/**
 * The status the caller was sent, if any: the answer's once its head went out; before that, the 408 Fastify's
 * clientError handler writes straight to the connection when HTTP_REQUEST_TIMEOUT_MS ends a request still being sent.
 */
function sentStatus(res: ServerResponse): number | undefined {
  if (res.headersSent) return res.statusCode;
  return (res.socket?.errored as NodeJS.ErrnoException | null)?.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : undefined;
}

/**
 * Who closed a connection, from its state once closed: the caller's side if we read its end (FIN) or it reset the
 * connection; the service's otherwise (it destroyed the socket: a deadline, a failed upstream, a timeout, the drain).
 */
function closedBy(socket: Socket | null): UnfinishedOutcome {
  if (!socket) return 'client_closed';
  const code = (socket.errored as NodeJS.ErrnoException | null)?.code;
  return socket.readableEnded || (code !== undefined && CALLER_GONE.has(code)) ? 'client_closed' : 'cut';
}
