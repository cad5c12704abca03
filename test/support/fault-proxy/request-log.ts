import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Fault } from './rules.js';

/** One request the proxy saw. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** The fault applied, if any. */
  fault?: Fault;
  /** Date.now() when the request arrived. */
  at: number;
  /** The status sent to the client, once an answer was sent. */
  status?: number;
  /** True once the upstream server received the request (it may have applied it). */
  forwarded: boolean;
  /** Date.now() when the client closed the connection before its answer was sent (it gave up). */
  clientClosedAt?: number;
  /** answer fault: the body's bytes written to the connection so far. */
  bodyBytesSent?: number;
}

/** The entry for a request as it arrives (kept up to date as it goes), with its query percent-decoded for matching. */
export function record(req: IncomingMessage, res: ServerResponse): { entry: ProxiedRequest; query: string } {
  const [path, rawQuery = ''] = (req.url ?? '/').split('?', 2);
  const entry: ProxiedRequest = { method: (req.method ?? 'GET').toUpperCase(), path, at: Date.now(), forwarded: false };
  res.on('close', () => {
    if (!res.writableFinished && entry.clientClosedAt === undefined) entry.clientClosedAt = Date.now();
  });
  return { entry, query: safeDecode(rawQuery) };
}

function safeDecode(query: string): string {
  try {
    return decodeURIComponent(query);
  } catch {
    return query;
  }
}
