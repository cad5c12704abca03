import type { DestinationStream } from 'pino';

/** What the one line per request says. */
export interface RequestLineFields {
  reqId: string;
  method: string;
  /** The route pattern, or `unmatched`. */
  route: string;
  /** The path with secret and personal query values already replaced (`loggablePath`). */
  path: string;
  /** The status sent; absent when the connection closed before any header went out. */
  status?: number;
  /** Milliseconds from the request's arrival to the answer's end, when known. */
  ms?: number;
  ip?: string;
  /** Only for an answer that did not go out whole: who ended it (see RequestOutcome). */
  outcome?: UnfinishedOutcome;
  /** With `outcome`: bytes of this answer (head included) handed to the kernel before its connection closed. */
  bytes?: number;
}

/**
 * How a request ended. `completed`: its answer went out whole. `client_closed`: the caller's side ended the
 * connection first (it left, or reset it). `cut`: the service's side closed it (a download's deadline, Google failing
 * mid-answer, HTTP_SEND_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, the shutdown's drain).
 */
export type RequestOutcome = 'completed' | UnfinishedOutcome;
export type UnfinishedOutcome = 'client_closed' | 'cut';

let lastMs = 0;
let lastTime = '';
/**
 * pino's ISO-8601 `time` field, formatted once per millisecond: a busy replica writes several lines in the same
 * millisecond, and `toISOString` on each was 5% of GET /health/live's CPU (npm run bench).
 */
export function isoTimeOncePerMs(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * The request log: one JSON line per request, the same line pino writes for `info({ reqId, ... }, 'request')`
 * (`level`, `time`, the fields, `msg`), into the same destination as the service's pino logger, so its batching,
 * its flush at exit and the local run's pretty printing apply to it too.
 *
 * Why by hand: the fields are fixed and few, and pino's generic path (walk the object's keys, escape each string,
 * format the message, then hand it on) was the largest single cost of GET /auth/session, about 9% of its CPU
 * (issue 14, target 1). Every string a client can influence (path, request id, IP) goes through JSON.stringify, so
 * the line is valid JSON whatever the request carried; the rest are the method Node's parser accepted, our route
 * pattern and numbers. It writes nothing when the level is above `info`, as pino would.
 */
export class RequestLog {
  constructor(
    private readonly destination: DestinationStream,
    private readonly infoEnabled: () => boolean,
  ) {}

  /** Writes the line for one request. */
  write(f: RequestLineFields): void {
    if (!this.infoEnabled()) return;
    const status = f.status === undefined ? '' : `,"status":${f.status}`;
    const ms = f.ms !== undefined && Number.isFinite(f.ms) ? `,"ms":${f.ms}` : '';
    const ip = f.ip === undefined ? '' : `,"ip":${JSON.stringify(f.ip)}`;
    const outcome = f.outcome === undefined ? '' : `,"outcome":"${f.outcome}"${f.bytes === undefined ? '' : `,"bytes":${f.bytes}`}`;
    this.destination.write(
      `{"level":30${isoTimeOncePerMs()},"reqId":${JSON.stringify(f.reqId)},"method":${JSON.stringify(f.method)},"route":${JSON.stringify(f.route)},"path":${JSON.stringify(f.path)}${status}${ms}${ip}${outcome},"msg":"request"}\n`,
    );
  }
}
