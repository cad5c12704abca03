import { createServer, type Server } from 'node:http';
import { Readable } from 'node:stream';
import { GoogleDeadlines } from './google-transport.js';

describe('GoogleDeadlines', () => {
  it('gives calls started within 20 ms the same signal, and later calls a new one', async () => {
    const deadlines = new GoogleDeadlines(60_000);
    const first = deadlines.signal();
    expect(deadlines.signal()).toBe(first);
    await new Promise((r) => setTimeout(r, 30));
    expect(deadlines.signal()).not.toBe(first);
  });

  it('aborts with a TimeoutError no sooner than the timeout and at most 20 ms (plus timer lag) later', async () => {
    const deadlines = new GoogleDeadlines(150);
    const started = performance.now();
    const signal = deadlines.signal();
    const abortedAfter = await new Promise<number>((resolve) => signal.addEventListener('abort', () => resolve(performance.now() - started)));
    expect(abortedAfter).toBeGreaterThanOrEqual(149);
    expect(abortedAfter).toBeLessThan(150 + 20 + 500);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  describe('fetch', () => {
    let server: Server;
    let url: string;
    const closed: number[] = [];
    beforeAll(async () => {
      // Answers /fast at once; /hang never answers, /stall sends its headers and part of the body and then nothing
      // (the socket's close is what the service's abort must cause).
      server = createServer((req, res) => {
        if (req.url === '/fast') return void res.end('{"ok":true}');
        req.socket.on('close', () => closed.push(Date.now()));
        // Takes the upload's first bytes, then stops reading it (and never answers).
        if (req.url === '/upload') req.once('data', () => req.pause());
        if (req.url === '/stall') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"messages":[');
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('cancels a hung call at the deadline and closes its socket; a call with its own signal keeps it', async () => {
      const fetch = new GoogleDeadlines(200).fetch();
      expect(await (await fetch(`${url}/fast`)).json()).toEqual({ ok: true });
      const t0 = Date.now();
      const err = (await fetch(`${url}/hang`).catch((e: unknown) => e)) as Error;
      expect(err.name).toBe('AbortError'); // node:http's, for the request the deadline cancelled
      expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
      await new Promise((r) => setTimeout(r, 50));
      expect(closed.length).toBe(1);
      // Its own, longer signal wins over the shared deadline: still pending after the 200 ms deadline.
      const own = new AbortController();
      const pending = fetch(`${url}/hang`, { signal: own.signal }).catch((e: unknown) => e);
      const settled = await Promise.race([pending.then(() => 'settled'), new Promise((r) => setTimeout(() => r('pending'), 400))]);
      expect(settled).toBe('pending');
      own.abort();
      expect(((await pending) as Error).name).toBe('AbortError');
    });

    describe('on the pool the clients are given (the deadline is the agent\'s, no signal per call)', () => {
      let deadlines: GoogleDeadlines;
      let fetch: ReturnType<GoogleDeadlines['fetch']>;
      const onPool = (init: RequestInit = {}) => ({ ...init, agent: deadlines.agent }) as RequestInit;
      beforeEach(async () => {
        await new Promise((r) => setTimeout(r, 50)); // the sockets the earlier tests cancelled are closed by now
        closed.length = 0;
        deadlines = new GoogleDeadlines(200, { secure: false, options: { keepAlive: true } });
        fetch = deadlines.fetch();
      });
      afterEach(() => deadlines.agent?.destroy());

      it('cancels a call that gets no answer at the deadline and closes its socket', async () => {
        const t0 = Date.now();
        const err = (await fetch(`${url}/hang`, onPool()).catch((e: unknown) => e)) as Error;
        expect(err.name).toBe('TimeoutError');
        expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
        expect(Date.now() - t0).toBeLessThan(200 + 20 + 500);
        await new Promise((r) => setTimeout(r, 50));
        expect(closed.length).toBe(1);
      });

      it('cancels a call whose answer stalls halfway, while its body is being read', async () => {
        const t0 = Date.now();
        const res = await fetch(`${url}/stall`, onPool());
        expect(res.status).toBe(200);
        // The deadline's TimeoutError, not the reset the broken body reports: GoogleCaller retries a reset once.
        await expect(res.text()).rejects.toMatchObject({ name: 'TimeoutError' });
        expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
        await new Promise((r) => setTimeout(r, 50));
        expect(closed.length).toBe(1);
      });

      it('cancels a streamed call (a Drive read) whose answer stalls halfway with the TimeoutError, not a reset', async () => {
        const t0 = Date.now();
        const res = await fetch(`${url}/stall`, onPool({ responseType: 'stream' } as RequestInit));
        expect(res.status).toBe(200);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        // GoogleCaller retries a reset once: an "aborted" ECONNRESET here made each stalled read take two deadlines.
        const failure = await (async () => {
          for (;;) if ((await reader.read()).done) return 'ended';
        })().catch((e: unknown) => e);
        expect(failure).toMatchObject({ name: 'TimeoutError' });
        expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
        await new Promise((r) => setTimeout(r, 50));
        expect(closed.length).toBe(1);
      });

      it('rejects at once a body first read after the deadline closed its call (it would wait for an end that never comes)', async () => {
        const res = await fetch(`${url}/stall`, onPool());
        await new Promise((r) => setTimeout(r, 300)); // the deadline has destroyed the call before anyone read its body
        const read = res.text().then(() => 'read', (e: unknown) => e);
        const outcome = await Promise.race([read, new Promise((r) => setTimeout(() => r('still waiting'), 500))]);
        expect(outcome).toMatchObject({ name: 'TimeoutError' });
        // The same for an answer read as a stream.
        const streamed = await fetch(`${url}/stall`, onPool());
        await new Promise((r) => setTimeout(r, 300));
        const reader = (streamed.body as ReadableStream<Uint8Array>).getReader();
        const first = await Promise.race([reader.read().then(() => 'read', (e: unknown) => e), new Promise((r) => setTimeout(() => r('still waiting'), 500))]);
        expect(first).toMatchObject({ name: 'TimeoutError' });
      });

      it('fails, not reads as empty, an answer that arrived whole but was left unread past the deadline', async () => {
        const res = await fetch(`${url}/fast`, onPool());
        expect(res.status).toBe(200);
        await new Promise((r) => setTimeout(r, 300)); // the deadline destroyed the call, which drains its body
        await expect(res.text()).rejects.toMatchObject({ name: 'TimeoutError' });
      });

      it('cancels a streamed upload whose peer stops reading it: the deadline runs from the start, not from the last byte sent', async () => {
        // 256 MiB, more than any socket buffers hold: the body never finishes, so a deadline that starts once the
        // body is flushed (node:http's request "start") would never start at all.
        const chunk = Buffer.alloc(64 * 1024, 1);
        const body = Readable.from((function* () { for (let i = 0; i < 4096; i++) yield chunk; })());
        const t0 = Date.now();
        const outcome = fetch(`${url}/upload`, onPool({ method: 'POST', body: body as never, duplex: 'half' } as RequestInit)).then(() => 'answered', (e: unknown) => e);
        const err = await Promise.race([outcome, new Promise((r) => setTimeout(() => r('still sending'), 2_000))]);
        expect(err).toMatchObject({ name: 'TimeoutError' });
        expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
        // Its socket is closed, not kept in the pool (the peer, which stopped reading, cannot see the close yet).
        await new Promise((r) => setTimeout(r, 50));
        const sockets = [...Object.values(deadlines.agent?.sockets ?? {}), ...Object.values(deadlines.agent?.freeSockets ?? {})].flat();
        expect(sockets).toHaveLength(0);
      });

      it('forgets a call that ended: its kept-alive socket serves the next call after the first deadline', async () => {
        expect(await (await fetch(`${url}/fast`, onPool())).json()).toEqual({ ok: true });
        await new Promise((r) => setTimeout(r, 300)); // past the first call's deadline
        expect(await (await fetch(`${url}/fast`, onPool())).json()).toEqual({ ok: true });
        const sockets = Object.values(deadlines.agent?.freeSockets ?? {}).flat();
        expect(sockets).toHaveLength(1); // one connection for both: the deadline did not close it
      });

      it('leaves a call with its own signal to that signal', async () => {
        const own = new AbortController();
        const pending = fetch(`${url}/hang`, onPool({ signal: own.signal })).catch((e: unknown) => e);
        const settled = await Promise.race([pending.then(() => 'settled'), new Promise((r) => setTimeout(() => r('pending'), 400))]);
        expect(settled).toBe('pending');
        own.abort();
        expect(((await pending) as Error).name).toBe('AbortError');
      });
    });
  });
});
