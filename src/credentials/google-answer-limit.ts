/*
 * A bound on what one Google answer may put in memory. The clients read a JSON answer whole (gaxios' text(), the
 * token client's json()), and a replica's heap is small (384 MB in deploy/kubernetes/deployment.yaml): one answer of
 * a few hundred megabytes from whatever stands between the service and Google (a proxy, a captive portal, a gzip
 * bomb, which is a few kilobytes on the wire) would end the process and every user's requests in it, long before
 * GOOGLE_HTTP_TIMEOUT_MS. Streamed media (Drive downloads) never reads a body whole and is not bounded here, except
 * an error answer's, which gaxios does read whole (ERROR_BODY_MAX_BYTES).
 * Written by hand: fetch has no size limit, and gaxios' `maxContentLength` compares only a stated Content-Length
 * (a chunked answer has none, and a compressed one's says nothing of what it decodes to).
 */
export { DEFAULT_GOOGLE_MAX_ANSWER_BYTES } from '../config/config.schema.js';

/** The failure of a Google call whose answer, decoded, passed the limit; the body was cancelled and its socket closed. */
export class GoogleAnswerTooLargeError extends Error {
  override readonly name = 'GoogleAnswerTooLargeError';
  readonly code = 'GOOGLE_ANSWER_TOO_LARGE';

  constructor(readonly limitBytes: number) {
    super(`Google's answer is larger than ${limitBytes} bytes (GOOGLE_MAX_ANSWER_BYTES)`);
  }
}

/** The GoogleAnswerTooLargeError behind `err` (itself, or a cause: gaxios wraps what its fetch throws), if any. */
export function tooLargeAnswerIn(err: unknown): GoogleAnswerTooLargeError | undefined {
  for (let e = err as { cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e instanceof GoogleAnswerTooLargeError) return e;
  }
  return undefined;
}

/** The fetch Response methods that read a body whole. */
export type BodyConsumer = 'text' | 'json' | 'arrayBuffer' | 'blob' | 'formData';

/** The body's bytes, decoded as fetch decodes them; rejects with GoogleAnswerTooLargeError past `limit`, after cancelling the body. */
export async function readAtMost(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Cancelling destroys the answer's stream and with it the socket: its unread rest never reaches the pool.
      await reader.cancel(new GoogleAnswerTooLargeError(limit)).catch(() => undefined);
      throw new GoogleAnswerTooLargeError(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/**
 * The most of an error answer's body (status outside 2xx) that is read when it is read as a stream: gaxios reads a
 * streamed call's error body whole (a Drive download's, with no bound of its own) to find Google's reason. Google's
 * JSON errors are a few hundred bytes to a few KB, so 64 KiB keeps every one of them whole; a proxy's or portal's
 * error page of any size then costs at most this per call, where unbounded it could take whatever the link carries
 * until the call's deadline. GOOGLE_MAX_ANSWER_BYTES bounds it too when set lower: no answer may hold more.
 */
export const ERROR_BODY_MAX_BYTES = 64 * 1024;

/** The bound on a streamed error body for a transport whose answers may hold at most `maxAnswerBytes`. */
export function errorBodyLimit(maxAnswerBytes: number): number {
  return Math.min(maxAnswerBytes, ERROR_BODY_MAX_BYTES);
}

/**
 * An error answer's body cut to its first `limit` bytes: past them the source is cancelled (its socket closed, the
 * rest never read) and the stream ends. It ends rather than fails: the caller maps the answer by its status, which a
 * failed read would lose (a 403 would become a network error), and Google's reason is within the first bytes. What
 * was read comes as one Buffer: gaxios joins the chunks of an error body with Array's toString, which puts a comma
 * between two chunks and writes a Uint8Array as a list of numbers, and either would spoil Google's JSON.
 */
export function errorBodyAtMost(body: ReadableStream<Uint8Array> | null, limit: number): ReadableStream<Uint8Array> | null {
  if (!body) return null;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader = body.getReader();
      const bytes = await headOf(reader, limit);
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
    cancel: (reason) => (reader ? reader.cancel(reason) : body.cancel(reason)),
  });
}

/** The first `limit` bytes `reader` gives; when there are more, the reader is cancelled, which closes the socket. */
async function headOf(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - size));
      size = limit;
      await reader.cancel(new GoogleAnswerTooLargeError(limit)).catch(() => undefined);
      break;
    }
    size += value.byteLength;
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/**
 * What the fetch consumer `name` would give for an answer of these bytes: text and json decode UTF-8 as fetch does
 * (a byte-order mark dropped, bad sequences replaced), blob keeps the content type.
 */
export function consumeBytes(name: BodyConsumer, bytes: Buffer, contentType: string | null): Promise<unknown> {
  switch (name) {
    case 'text':
      return Promise.resolve(new TextDecoder().decode(bytes));
    case 'json':
      return Promise.resolve().then(() => JSON.parse(new TextDecoder().decode(bytes)) as unknown);
    case 'arrayBuffer':
      return Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    case 'blob':
      return Promise.resolve(new Blob([bytes], { type: contentType ?? '' }));
    case 'formData':
      return new Response(bytes, { headers: contentType ? { 'content-type': contentType } : {} }).formData();
  }
}

/**
 * Whether an answer's whole body may be read without counting: it states a length within `limit` and is not
 * compressed (a compressed body's length says nothing about what it decodes to). False also when it states more.
 */
export function withinStatedLength(headers: { get(name: string): string | null }, limit: number): boolean {
  if (headers.get('content-encoding')) return false;
  const stated = headers.get('content-length');
  if (stated === null || !/^\d+$/.test(stated)) return false;
  return Number(stated) <= limit;
}

/** What the token endpoint may answer: its JSON is a few hundred bytes. */
export const TOKEN_ANSWER_MAX_BYTES = 64 * 1024;
