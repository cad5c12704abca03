import { pipeline, type Readable, Transform } from 'node:stream';

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

/** What a download is cut with when DRIVE_DOWNLOAD_TIMEOUT_MS has passed since its request to Google. */
export class DownloadDeadlineError extends Error {
  override readonly name = 'DownloadDeadlineError';
  constructor(deadlineMs: number) {
    super(`The download took longer than ${deadlineMs} ms`);
  }
}

/**
 * Destroys `body` (its connection to Google closed) with a DownloadDeadlineError `remainingMs` from now, unless it
 * has closed by then. A timer of ours, holding the stream, rather than the `timeout` option of the request: gaxios
 * makes that one an `AbortSignal.any()` of its own, which nothing holds once the answer's headers are in, and Node
 * (20.20 here) lets the garbage collector take such a signal with its listeners, so a collection during the
 * download silently removed its deadline and a body that never ends streamed for good
 * (test/e2e/drive-download-callers.e2e.spec.ts collects garbage mid-download to prove it).
 */
export function cutAtDeadline(body: Readable, remainingMs: number, deadlineMs: number): void {
  const timer = setTimeout(() => body.destroy(new DownloadDeadlineError(deadlineMs)), Math.max(0, remainingMs));
  timer.unref(); // the stream, not this timer, is what keeps a request (and a shutdown's drain) waiting
  body.once('close', () => clearTimeout(timer));
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

/**
 * `source` passed through, failed with a TimeoutError (and `source` destroyed, its connection closed) when it is
 * being read and no bytes have come for `ms`: a Google that stops sending in the middle of a download must not hold
 * the request for the download's whole bound. Time spent paused does not count: a pipe pauses the stream while the
 * client is slow to read (backpressure), and a slow client is the send timeout's to judge (HTTP_SEND_TIMEOUT_MS),
 * not Google's. Node's socket timeout cannot tell the two apart, hence this. Chunks are noticed in transform(): a
 * 'data' listener would start the stream flowing before its consumer is attached.
 */
export function idleWhileFlowing(source: Readable, ms: number): Readable {
  let timer: NodeJS.Timeout | undefined;
  let sourceEnded = false; // all of Google's bytes are in: whatever is left waits on the client alone
  const disarm = () => clearTimeout(timer);
  const arm = () => {
    disarm();
    if (sourceEnded) return;
    timer = setTimeout(() => out.destroy(new DOMException(`Google sent nothing for ${ms} ms in the middle of a download`, 'TimeoutError')), ms);
    timer.unref();
  };
  const out: Transform = new Transform({
    transform(chunk, _encoding, done) {
      if (out.readableFlowing) arm();
      done(null, chunk);
    },
    flush(done) {
      sourceEnded = true;
      disarm();
      done();
    },
  });
  // Node emits a pipe's first 'resume' a tick late, possibly after backpressure has paused the stream again.
  out.on('resume', () => out.readableFlowing && arm());
  out.on('pause', disarm);
  out.once('close', disarm);
  // Either side's end or failure ends the other: a destroyed `out` closes Google's connection.
  pipeline(source, out, () => {
    sourceEnded = true;
    disarm();
  });
  return out;
}
