import { Logger } from '@nestjs/common';
import { finished, pipeline, Transform, type Readable } from 'node:stream';
import { DownloadDeadlineError } from './content-reads.js';

/** Why a download ended before its last byte. */
export type CutReason = 'download_deadline' | 'google_silent' | 'google_failed' | 'caller_closed';

/** What a cut download's log line says about it, besides the reason. */
export interface DownloadLabel {
  /** The request's id (X-Request-Id), which the caller was sent too. */
  requestId?: string;
  fileId: string;
  /** performance.now() when the request to Google started (the line's `ms` count from there, as the deadline does). */
  startedAt: number;
}

/** Where the line goes: the service's log, or a test's capture. */
export type CutSink = (level: 'log' | 'warn', line: Record<string, unknown>) => void;

const logger = new Logger('Drive');
const toLog: CutSink = (level, line) => logger[level](line);

/**
 * Why `err` ended a download. A stream destroyed without an error was closed from the caller's side (Fastify
 * destroys the answer's stream once the caller's connection has closed: the caller left, or HTTP_SEND_TIMEOUT_MS
 * closed it); the deadline has its own error (cutAtDeadline); a TimeoutError is idleWhileFlowing's (Google silent for
 * GOOGLE_HTTP_TIMEOUT_MS; the wait for the headers has its own, thrown before any stream exists); anything else is
 * Google's connection failing.
 */
export function cutReason(err: NodeJS.ErrnoException): CutReason {
  if (err.code === 'ERR_STREAM_PREMATURE_CLOSE') return 'caller_closed';
  if (err instanceof DownloadDeadlineError) return 'download_deadline';
  if (err.name === 'TimeoutError') return 'google_silent';
  return 'google_failed';
}

/**
 * `download` passed through, and one log line when it ends before its last byte: why, how many bytes the caller was
 * handed, after how long. Without it a cut download left no trace: the request line is written when an answer
 * finishes, which a cut one never does, and Fastify's own note about a failed stream goes through the request
 * logging the service turns off. The line carries the request id, the file id, counts and a reason; never the error's
 * message (a transport's text is not ours to vouch for), nor anything of the user's credentials.
 */
export function reportCut(download: Readable, label: DownloadLabel, sink: CutSink = toLog): Readable {
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  // Either side's failure or close ends the other (so a caller that leaves still closes Google's connection).
  pipeline(download, counted, () => undefined);
  // Both sides: the last bytes handed on have to be read by the caller too for the download to be whole.
  finished(counted, (err) => {
    if (!err) return;
    const ms = Math.round(performance.now() - label.startedAt);
    const reason = cutReason(err);
    const error = reason === 'google_failed' ? ((err as NodeJS.ErrnoException).code ?? err.name) : undefined;
    sink(reason === 'caller_closed' ? 'log' : 'warn', {
      msg: 'a Drive download ended before its last byte',
      event: 'drive_download_cut',
      reason,
      reqId: label.requestId,
      fileId: label.fileId,
      bytes,
      ms,
      ...(error ? { error } : {}),
    });
  });
  return counted;
}
