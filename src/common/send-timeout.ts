import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** What a connection's pending output looked like when it was last seen to move. */
interface Seen {
  since: number;
  written: number;
  buffered: number;
  queued: number;
}

/**
 * nginx's `send_timeout` for node:http: a connection whose client stops reading an answer is closed once nothing of
 * it has moved for `timeoutMs` (HTTP_SEND_TIMEOUT_MS). Without it such a client holds the answer (up to
 * GOOGLE_MAX_ANSWER_BYTES, 48 MiB, per connection), its socket and the shutdown's drain for as long as it likes.
 *
 * Only connections with output waiting count: a request that waits for Google or S3, or an idle kept-alive
 * connection, sends nothing and is left to its own timeouts. A slow client that keeps reading moves the output
 * (a write completes, or the kernel takes part of the one in flight) and keeps its connection.
 *
 * Written by hand because neither Node nor Fastify has it: the socket timeout (`connectionTimeout`) counts any
 * silence, so it would also cut a request waiting for Google, and it is refreshed only when a whole write completes.
 * One sweep over the open connections every quarter of the timeout (at most 15 s), like Node's own request timeout
 * check: nothing is done per request, so the hot path pays nothing.
 */
export class SendTimeout {
  private readonly sockets = new Set<Socket>();
  private readonly seen = new WeakMap<Socket, Seen>();
  private sweeper?: NodeJS.Timeout;

  /** `onClose`: told how many connections a sweep closed (for the log). */
  constructor(
    private readonly timeoutMs: number,
    private readonly onClose: (count: number) => void = () => undefined,
  ) {}

  /** Watches every connection `server` accepts from now on, until the server closes. */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    const every = Math.max(250, Math.min(15_000, this.timeoutMs / 4));
    this.sweeper = setInterval(() => this.sweep(performance.now()), every);
    this.sweeper.unref();
    server.once('close', () => clearInterval(this.sweeper));
  }

  /** Closes the connections whose pending output has not moved for the timeout; returns how many. */
  sweep(now: number): number {
    let closed = 0;
    for (const socket of this.sockets) {
      // Bytes in the stream's buffer (the write in flight included), and what libuv still holds of that write.
      const buffered = socket.writableLength;
      const queued = (socket as Socket & { _handle?: { writeQueueSize?: number } })._handle?.writeQueueSize ?? 0;
      if (buffered === 0 && queued === 0) {
        this.seen.delete(socket);
        continue;
      }
      const written = socket.bytesWritten;
      const last = this.seen.get(socket);
      if (!last || last.written !== written || last.buffered !== buffered || last.queued !== queued) {
        this.seen.set(socket, { since: now, written, buffered, queued });
      } else if (now - last.since >= this.timeoutMs) {
        socket.destroy();
        closed++;
      }
    }
    if (closed > 0) this.onClose(closed);
    return closed;
  }
}
