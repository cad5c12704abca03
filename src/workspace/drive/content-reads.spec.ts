import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cutAtDeadline, DownloadDeadlineError, idleWhileFlowing } from './content-reads.js';

const IDLE_MS = 150;

/** A client that takes `delayMs` to take each chunk, with room for one chunk only: the pipe pauses while it works. */
function slowClient(delayMs: number, received: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk);
      setTimeout(done, delayMs);
    },
  });
}

describe('idleWhileFlowing: a download whose source goes quiet fails; a slow reader does not', () => {
  it('fails with a TimeoutError, and destroys the source, when the source sends nothing for the bound while read', async () => {
    const google = new PassThrough();
    google.write('first bytes');
    const started = Date.now();
    const received: Buffer[] = [];
    await expect(pipeline(idleWhileFlowing(google, IDLE_MS), slowClient(0, received))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 20);
    expect(Date.now() - started).toBeLessThan(IDLE_MS + 1000);
    expect(Buffer.concat(received).toString()).toBe('first bytes');
    expect(google.destroyed).toBe(true); // its connection is closed, not left open
  });

  it('lets a client that reads each chunk slower than the bound receive the whole file', async () => {
    const chunks = Array.from({ length: 6 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const received: Buffer[] = [];
    // Each chunk takes the client twice the bound: the source waits, paused, and that time does not count.
    await pipeline(idleWhileFlowing(Readable.from(chunks), IDLE_MS), slowClient(IDLE_MS * 2, received));
    expect(Buffer.concat(received).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('never fails once the source has ended, however long the client takes for the rest', async () => {
    const received: Buffer[] = [];
    await pipeline(idleWhileFlowing(Readable.from([Buffer.alloc(256 * 1024, 1)]), IDLE_MS), slowClient(IDLE_MS * 3, received));
    expect(Buffer.concat(received).length).toBe(256 * 1024);
  });

  it('does not start the source flowing before a consumer is attached (nothing is lost)', async () => {
    const source = Readable.from([Buffer.from('a'), Buffer.from('b')]);
    const out = idleWhileFlowing(source, IDLE_MS);
    await new Promise((r) => setTimeout(r, 50));
    const received: Buffer[] = [];
    await pipeline(out, slowClient(0, received));
    expect(Buffer.concat(received).toString()).toBe('ab');
  });
});

describe('cutAtDeadline: a download\'s bound in all, held by the service', () => {
  it('destroys the body with a DownloadDeadlineError once the time left has passed', async () => {
    const google = new PassThrough();
    google.on('data', () => undefined);
    const failed = new Promise<Error>((resolve) => google.once('error', resolve));
    const started = Date.now();
    cutAtDeadline(google, IDLE_MS, 4000);
    const err = await failed;
    expect(err).toBeInstanceOf(DownloadDeadlineError);
    expect(err.message).toBe('The download took longer than 4000 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 20);
    expect(google.destroyed).toBe(true);
  });

  it('leaves a body that closed first alone', async () => {
    const google = new PassThrough();
    cutAtDeadline(google, IDLE_MS, 4000);
    google.destroy();
    await new Promise((r) => setTimeout(r, IDLE_MS * 2));
    expect(google.errored).toBeNull();
  });
});
