import type { Readable } from 'node:stream';

/**
 * Runs `start` (a request resolving once its answer's headers have come) with a signal aborted by a TimeoutError if
 * they have not come within `ms`. Only the wait for the headers is bounded: once they are in, the signal is never
 * aborted, so a streamed body keeps whatever longer bound its request has. A download streams for up to its own
 * long deadline, but a Google that accepts the request and never answers must fail like any other call, after
 * GOOGLE_HTTP_TIMEOUT_MS, not after that deadline.
 */
export async function headersWithin<T>(ms: number, start: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`Google did not answer within ${ms} ms`, 'TimeoutError')), ms);
  try {
    return await start(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The stream's bytes when there are at most `limit`; past that the stream is destroyed (its connection closed, the
 * rest never fetched) and `tooLarge()` is thrown. For reads that have to fit in memory (a tool result).
 */
export async function readAtMost(stream: Readable, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}
