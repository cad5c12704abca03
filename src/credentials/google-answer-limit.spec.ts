import { consumeBytes, GoogleAnswerTooLargeError, readAtMost, tooLargeAnswerIn, withinStatedLength } from './google-answer-limit.js';

/** A body of these chunks, recording whether it was cancelled. */
function body(chunks: Uint8Array[]): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean; pulled: () => number } {
  let cancelled = false;
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks.length) return controller.close();
      controller.enqueue(chunks[pulled++]);
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled, pulled: () => pulled };
}

describe('readAtMost', () => {
  it('gives every byte of a body within the limit, the limit itself included', async () => {
    const b = body([Buffer.from('{"a":'), Buffer.from('1}')]);
    expect((await readAtMost(b.stream, 7)).toString()).toBe('{"a":1}');
    expect(b.cancelled()).toBe(false);
  });

  it('refuses a body past the limit without reading the rest, and cancels it (the socket closes)', async () => {
    const b = body(Array.from({ length: 100 }, () => Buffer.alloc(10, 'x')));
    const err = await readAtMost(b.stream, 25).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoogleAnswerTooLargeError);
    expect((err as GoogleAnswerTooLargeError).limitBytes).toBe(25);
    expect(b.pulled()).toBeLessThan(10);
    expect(b.cancelled()).toBe(true);
  });

  it('an absent body is empty', async () => {
    expect((await readAtMost(null, 10)).length).toBe(0);
  });
});

describe('consumeBytes', () => {
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"Zoë"}')]);

  it('decodes text and JSON as fetch does: UTF-8, the byte-order mark dropped', async () => {
    expect(await consumeBytes('text', bytes, 'application/json')).toBe('{"name":"Zoë"}');
    expect(await consumeBytes('json', bytes, 'application/json')).toEqual({ name: 'Zoë' });
  });

  it('rejects JSON that does not parse (as fetch does), keeps bytes and the blob type', async () => {
    await expect(consumeBytes('json', Buffer.from('<html>'), 'text/html')).rejects.toThrow(SyntaxError);
    const slice = Buffer.from('..abc..').subarray(2, 5);
    expect(Buffer.from((await consumeBytes('arrayBuffer', slice, null)) as ArrayBuffer).toString()).toBe('abc');
    const blob = (await consumeBytes('blob', slice, 'image/png')) as Blob;
    expect([blob.type, blob.size]).toEqual(['image/png', 3]);
  });
});

describe('withinStatedLength', () => {
  const headers = (h: Record<string, string>) => new Headers(h);

  it('trusts only an uncompressed answer whose stated length is within the limit', () => {
    expect(withinStatedLength(headers({ 'content-length': '100' }), 100)).toBe(true);
    expect(withinStatedLength(headers({ 'content-length': '101' }), 100)).toBe(false);
    expect(withinStatedLength(headers({}), 100)).toBe(false); // chunked: counted
    expect(withinStatedLength(headers({ 'content-length': '10', 'content-encoding': 'gzip' }), 100)).toBe(false); // a bomb is small on the wire
    expect(withinStatedLength(headers({ 'content-length': '1e2' }), 1000)).toBe(false);
  });
});

describe('tooLargeAnswerIn', () => {
  it('finds the error through the causes gaxios wraps it in, and its limit', () => {
    const wrapped = new Error('request failed', { cause: new Error('fetch failed', { cause: new GoogleAnswerTooLargeError(65536) }) });
    expect(tooLargeAnswerIn(wrapped)).toBeInstanceOf(GoogleAnswerTooLargeError);
    expect(tooLargeAnswerIn(wrapped)?.limitBytes).toBe(65536);
    expect(tooLargeAnswerIn(new Error('socket hang up'))).toBeUndefined();
    expect(tooLargeAnswerIn(undefined)).toBeUndefined();
  });
});
