import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Where a connection's output stood when it last moved. */
interface Seen {
  since: number;
  /** Bytes libuv has handed to the kernel on this connection. */
  taken: number;
}

/** The libuv handle under a socket: its own counters, in bytes (null once the socket is destroyed). */
type StreamHandle = { bytesWritten?: number; writeQueueSize?: number } | null | undefined;

/**
 * nginx's `send_timeout` for node:http: a connection whose client stops reading an answer is closed once nothing of
 * it has moved for `timeoutMs` (HTTP_SEND_TIMEOUT_MS). Without it such a client holds the answer (up to
 * GOOGLE_MAX_ANSWER_BYTES, 48 MiB, per connection), its socket and the shutdown's drain for as long as it likes.
 *
 * Only connections with output waiting count: a request that waits for Google or S3, or an idle kept-alive
 * connection, sends nothing and is left to its own timeouts. A slow client that keeps reading moves the output
 * (a write completes, or the kernel takes part of the one in flight) and keeps its connection, as long as the
 * kernel takes more within the timeout: Linux lets a full socket be written again only once about a third of its
 * send buffer (up to 4 MiB) is free, so a client reading steadily below roughly 20 KB/s can be cut at 60 s, as with
 * nginx (docs/operations.md, "Security at the edge", HTTP_SEND_TIMEOUT_MS).
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

  /** Closes the connections whose pending output has not moved for the timeout. */
  private sweep(now: number): void {
    let closed = 0;
    for (const socket of this.sockets) {
      const handle = (socket as Socket & { _handle?: StreamHandle })._handle;
      if (!handle) continue;
      // What the kernel has taken moves only when the client reads. The socket's own counters would not do: more
      // output from the service (a heartbeat) grows them too, and they count strings in characters, not bytes.
      const queued = handle.writeQueueSize ?? 0;
      if (socket.writableLength === 0 && queued === 0) {
        this.seen.delete(socket);
        continue;
      }
      const taken = (handle.bytesWritten ?? 0) - queued;
      const last = this.seen.get(socket);
      if (!last || taken > last.taken) {
        this.seen.set(socket, { since: now, taken });
      } else if (now - last.since >= this.timeoutMs) {
        socket.destroy();
        closed++;
      }
    }
    if (closed > 0) this.onClose(closed);
  }
}
