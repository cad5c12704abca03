import type { ServerResponse } from 'node:http';
import type { FaultRule } from './rules.js';

/**
 * The answer fault: the body once with its length, or `repeat` times chunked, as fast as the client reads (or one
 * time every `everyMs`: a body that trickles). `sent` counts the body's bytes handed to the connection (which may
 * buffer some the client never reads).
 */
export function answer(res: ServerResponse, status: number, fault: Pick<FaultRule, 'body' | 'contentType' | 'headers' | 'repeat' | 'everyMs'>, sent: { bodyBytesSent?: number } = {}): void {
  const body = fault.body ?? '';
  const headers = { 'content-type': fault.contentType ?? 'text/html', ...fault.headers };
  const size = Buffer.byteLength(body);
  sent.bodyBytesSent = 0;
  if (fault.repeat === undefined) {
    sent.bodyBytesSent = size;
    return void res.writeHead(status, { ...headers, 'content-length': size }).end(body);
  }
  res.writeHead(status, headers);
  let left = fault.repeat;
  if (fault.everyMs !== undefined) {
    const timer = setInterval(() => {
      if (res.destroyed || left-- <= 0) return void (clearInterval(timer), res.destroyed || res.end());
      sent.bodyBytesSent = (sent.bodyBytesSent ?? 0) + size;
      res.write(body);
    }, fault.everyMs);
    res.once('close', () => clearInterval(timer));
    return;
  }
  const pump = (): void => {
    for (; left > 0; ) {
      left--;
      if (res.destroyed) return;
      sent.bodyBytesSent = (sent.bodyBytesSent ?? 0) + size;
      if (!res.write(body)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

/** The redirect fault: `status` with `location` and no body. */
export function redirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location, 'content-length': '0' }).end();
}

/** The stall-body fault's start: the status, headers and first bytes of a body whose rest never comes. */
export function beginBody(res: ServerResponse, status: number, fault: Pick<FaultRule, 'body' | 'contentType' | 'headers'>): void {
  res.writeHead(status, { 'content-type': fault.contentType ?? 'application/octet-stream', ...fault.headers });
  res.write(fault.body ?? 'x');
}
