import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * The id of a request: the caller's X-Request-Id when it is a plain token (so traces line up across services), a
 * fresh UUID otherwise (a value that could break a log line or a header is never echoed).
 */
export function requestIdOf(headers: Record<string, string | string[] | undefined>): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}
