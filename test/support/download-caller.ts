import { createHash, type Hash } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';

/** How a download's answer ended, as its caller saw it. */
export type DownloadEnd = 'complete' | 'broken';

/**
 * A REST download seen from the caller's side, on a connection of its own (node:http, no pool), read only when
 * told to: the caller decides when and how fast bytes leave the service (backpressure reaches the service through
 * this socket's receive window). `complete` is node:http's own verdict: true only when the answer's framing ended
 * properly (the chunked terminator, or every byte of its Content-Length), so a cut answer can never pass for a
 * whole file.
 */
export class DownloadCaller {
  /** Body bytes read so far. */
  received = 0;
  /** Date.now() when the answer ended (complete or broken), once it has. */
  endedAt?: number;
  /** How the service ended the connection, once it did: a FIN ('closed', after every byte it had sent) or a reset. */
  connectionEnd?: 'closed' | 'reset';
  /** The answer's end: 'complete' with its terminator, 'broken' when the connection ended before it. */
  readonly ended: Promise<DownloadEnd>;
  private readonly hash: Hash = createHash('sha256');

  private constructor(readonly res: IncomingMessage) {
    res.pause();
    res.socket.once('end', () => (this.connectionEnd ??= 'closed'));
    res.socket.once('error', (err: NodeJS.ErrnoException) => (this.connectionEnd ??= err.code === 'ECONNRESET' ? 'reset' : 'closed'));
    res.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.hash.update(chunk);
    });
    this.ended = new Promise((resolve) => {
      const end = (how: DownloadEnd) => {
        this.endedAt ??= Date.now();
        resolve(how);
      };
      res.once('end', () => end(res.complete ? 'complete' : 'broken'));
      // An answer cut before its end: 'aborted' (ECONNRESET) from node:http, or a close without 'end'.
      res.once('error', () => end('broken'));
      res.once('close', () => end(res.complete ? 'complete' : 'broken'));
    });
  }

  /** GETs `url` with the bearer and resolves once the answer's head is in; nothing of the body is read yet. */
  static open(url: string, bearer: string, method = 'GET'): Promise<DownloadCaller> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: false, headers: { authorization: `Bearer ${bearer}` } }, (res) => resolve(new DownloadCaller(res)));
      req.once('error', reject);
      req.end();
    });
  }

  /** The sha256 of every body byte read (hex); call once the answer has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** Reads as fast as the service sends, until the answer ends. */
  readAll(): Promise<DownloadEnd> {
    this.res.resume();
    return this.ended;
  }

  /** Reads until at least `bytes` have come (or the answer ended), then stops reading. */
  async readAtLeast(bytes: number): Promise<void> {
    if (this.received >= bytes) return;
    await new Promise<void>((resolve) => {
      const check = () => {
        if (this.received < bytes) return;
        this.res.pause();
        this.res.off('data', check);
        resolve();
      };
      this.res.on('data', check);
      void this.ended.then(() => resolve());
      this.res.resume();
    });
  }

  /**
   * A slow reader: `bite` bytes at a time (a read(), then the next turn of the event loop), for `readMs` or until
   * `spellBytes` were read in this spell, then nothing at all for `pauseMs`, over and over until the answer ends.
   * `onPause` is told when each pause starts and ends (for sampling what moved meanwhile).
   */
  async readSlowly(opts: { bite: number; readMs: number; spellBytes?: number; pauseMs: number; onPause?: (phase: 'start' | 'end') => void }): Promise<DownloadEnd> {
    let ended = false;
    void this.ended.then(() => (ended = true));
    // Bites come out of the stream's buffer one read() at a time; each read() emits 'data', counted above.
    while (!ended) {
      const until = Date.now() + opts.readMs;
      const enough = this.received + (opts.spellBytes ?? Infinity);
      while (!ended && Date.now() < until && this.received < enough) {
        const bite = this.res.read(opts.bite) as Buffer | null;
        await new Promise((r) => (bite === null ? setTimeout(r, 1) : setImmediate(r)));
      }
      if (ended) break;
      opts.onPause?.('start');
      await new Promise((r) => setTimeout(r, opts.pauseMs));
      opts.onPause?.('end');
    }
    return this.ended;
  }

  /** Closes the connection from the caller's side, as a caller that gives up mid-download does. */
  disconnect(): void {
    this.res.socket.destroy();
  }
}
