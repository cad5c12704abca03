import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DownloadDeadlineError } from './content-reads.js';
import { reportCut, type CutSink } from './download-outcome.js';

/** A download reported into `lines`, its request to Google sent `agoMs` before now. */
function watched(agoMs = 0) {
  const google = new PassThrough();
  const lines: Array<{ level: string; line: Record<string, unknown> }> = [];
  const sink: CutSink = (level, line) => lines.push({ level, line });
  const out = reportCut(google, { requestId: 'req-1', fileId: 'file-1', startedAt: performance.now() - agoMs }, sink);
  return { google, out, lines };
}

function reader(received: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      received.push(chunk);
      done();
    },
  });
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('reportCut: one log line for a download that ends before its last byte', () => {
  it('passes a whole download through and says nothing', async () => {
    const { google, out, lines } = watched();
    const received: Buffer[] = [];
    google.end(Buffer.from('all of it'));
    await pipeline(out, reader(received));
    await settle();
    expect(Buffer.concat(received).toString()).toBe('all of it');
    expect(lines).toEqual([]);
  });

  it('a caller that goes away: caller_closed at info level, with the bytes handed on, and Google\'s stream closed', async () => {
    const { google, out, lines } = watched();
    out.on('data', () => undefined);
    google.write(Buffer.alloc(1000));
    await settle();
    out.destroy(); // what Fastify does once the caller's connection has closed
    await settle();
    expect(google.destroyed).toBe(true);
    expect(lines).toEqual([{ level: 'log', line: expect.objectContaining({ event: 'drive_download_cut', reason: 'caller_closed', reqId: 'req-1', fileId: 'file-1', bytes: 1000 }) }]);
  });

  it.each([
    ['Google silent (idleWhileFlowing\'s TimeoutError)', new DOMException('Google sent nothing for 1000 ms', 'TimeoutError'), 0, { reason: 'google_silent' }],
    ['the download\'s deadline', new DownloadDeadlineError(4000), 4000, { reason: 'download_deadline' }],
    ['Google\'s connection reset', Object.assign(new Error('read ECONNRESET secret-looking text'), { code: 'ECONNRESET' }), 10, { reason: 'google_failed', error: 'ECONNRESET' }],
  ])('%s: a warning naming the reason, not the error\'s message', async (_what, err, agoMs, expected) => {
    const { google, out, lines } = watched(agoMs);
    out.on('data', () => undefined);
    out.on('error', () => undefined);
    google.destroy(err as Error);
    await settle();
    expect(lines).toEqual([{ level: 'warn', line: expect.objectContaining({ event: 'drive_download_cut', bytes: 0, ...expected }) }]);
    expect(JSON.stringify(lines)).not.toContain((err as Error).message);
  });
});
