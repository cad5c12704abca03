import { Agent, createServer, type IncomingMessage, type Server } from 'node:http';
import zlib from 'node:zlib';
import { GoogleAnswerTooLargeError } from './google-answer-limit.js';
import { pooledFetch, pooledFetchTakes } from './pooled-fetch.js';
import { googleFetch } from './google-transport.js';

// A real node:http server: what pooledFetch sends (method, headers, body) is what the server received, and its
// answers come back as gaxios reads them.
describe('pooledFetch', () => {
  let server: Server;
  let url: string;
  let agent: Agent;
  const sockets = new Set<unknown>();
  const received: Array<{ method?: string; headers: IncomingMessage['headers']; body: string }> = [];
  const big = 'x'.repeat(64 * 1024);

  beforeAll(async () => {
    server = createServer((req, res) => {
      sockets.add(req.socket);
      // Answers before reading the upload, then resets the connection (what a server refusing an upload may do).
      if (req.url === '/early') return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"expired"}', () => req.socket.resetAndDestroy());
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (req.url === '/json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        if (req.url === '/gzip') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync('{"zipped":true}'));
        if (req.url === '/br') return void res.writeHead(200, { 'content-encoding': 'br' }).end(zlib.brotliCompressSync('{"br":true}'));
        if (req.url === '/bomb') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync(big));
        if (req.url === '/big') return void res.end(big);
        if (req.url === '/endless-error') {
          res.writeHead(500, { 'content-type': 'text/html' });
          const pump = (): void => {
            while (!res.destroyed && res.write(big));
            if (!res.destroyed) res.once('drain', pump);
          };
          return pump();
        }
        if (req.url === '/empty') return void res.writeHead(204).end();
        if (req.url === '/unchanged') return void res.writeHead(304, { etag: '"1"' }).end();
        if (req.url === '/error') return void res.writeHead(403, { 'content-type': 'application/json' }).end('{"error":{"code":403}}');
        if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://attacker.example/' }).end();
        if (req.url === '/twice') return void res.writeHead(200, [['x-seen', 'a'], ['x-seen', 'b']]).end('ok');
        res.end('?');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  beforeEach(() => {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    received.length = 0;
    sockets.clear();
  });
  afterEach(() => agent.destroy());
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends method, headers and an in-memory body with its length, and answers status, headers and JSON', async () => {
    const headers = new Headers({ authorization: 'Bearer t', 'content-type': 'application/json' });
    const res = await pooledFetch(`${url}/json`, { method: 'POST', headers, body: '{"a":"é"}', agent }, 1024);
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ ok: true });
    expect(res.bodyUsed).toBe(true);
    expect(received[0]).toMatchObject({ method: 'POST', body: '{"a":"é"}' });
    expect(received[0].headers).toMatchObject({ authorization: 'Bearer t', 'content-length': String(Buffer.byteLength('{"a":"é"}')) });
    await expect(res.text()).rejects.toThrow(/already been read/);
  });

  it('undoes gzip and br as fetch does', async () => {
    expect(await (await pooledFetch(`${url}/gzip`, { agent }, 1024)).json()).toEqual({ zipped: true });
    expect(await (await pooledFetch(`${url}/br`, { agent }, 1024)).json()).toEqual({ br: true });
  });

  it('cuts an answer larger than the limit once decoded (a gzip bomb too), closing the socket of an unfinished one', async () => {
    const bomb = await pooledFetch(`${url}/bomb`, { agent }, 1024);
    await expect(bomb.text()).rejects.toBeInstanceOf(GoogleAnswerTooLargeError);
    sockets.clear();
    const cut = await pooledFetch(`${url}/big`, { agent }, 1024);
    await expect(cut.text()).rejects.toBeInstanceOf(GoogleAnswerTooLargeError);
    // The rest of the answer was never read: its socket was closed, not handed to the next call.
    await pooledFetch(`${url}/json`, { agent }, 1024).then((r) => r.text());
    expect(sockets.size).toBe(2);
  });

  it('keeps the socket for the next call after a full read and after a 204 nobody reads', async () => {
    await (await pooledFetch(`${url}/json`, { agent }, 1024)).text();
    const empty = await pooledFetch(`${url}/empty`, { agent }, 1024);
    expect(empty.status).toBe(204);
    await new Promise((r) => setTimeout(r, 20));
    await (await pooledFetch(`${url}/json`, { agent }, 1024)).text();
    expect(sockets.size).toBe(1);
  });

  it('reads a bodiless answer (304, HEAD) as empty even when it ended before the read, as gaxios reads it', async () => {
    for (const [path, method] of [['/unchanged', 'GET'], ['/json', 'HEAD']]) {
      const res = await pooledFetch(`${url}${path}`, { method, agent }, 1024);
      // gaxios awaits other work between the answer's head and its read: by then the empty body has ended.
      await new Promise((r) => setTimeout(r, 20));
      await expect(res.text()).resolves.toBe('');
    }
    const late = await pooledFetch(`${url}/unchanged`, { agent }, 1024);
    await new Promise((r) => setTimeout(r, 20));
    expect(await new Response(late.body).text()).toBe('');
  });

  it('keeps a whole answer whose connection was reset after it (Google answering early, then closing)', async () => {
    const res = await pooledFetch(`${url}/early`, { method: 'POST', body: 'x'.repeat(4 * 1024 * 1024), agent }, 1024);
    await new Promise((r) => setTimeout(r, 50)); // the reset has arrived before the body is read
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'expired' });
  });

  it('answers an error status with its body readable, and a redirect as it came (never followed)', async () => {
    const denied = await pooledFetch(`${url}/error`, { agent }, 1024);
    expect(denied.ok).toBe(false);
    expect(await denied.json()).toEqual({ error: { code: 403 } });
    const moved = await pooledFetch(`${url}/redirect`, { agent }, 1024);
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('http://attacker.example/');
    expect(received.map((r) => r.method)).toEqual(['GET', 'GET']);
  });

  it.each([
    ['pooledFetch', (path: string) => pooledFetch(`${url}${path}`, { agent }, 1024)],
    ["googleFetch's other path (streamed calls)", (path: string) => googleFetch(`${url}${path}`, { agent, responseType: 'stream' } as RequestInit, 1024)],
  ])("%s: an error's body read as a stream ends at the bound, its socket closed; a success body streams whole", async (_path, get) => {
    const read = async (res: Response) => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
      return chunks;
    };
    const failed = await get('/endless-error');
    expect(failed.status).toBe(500);
    // min(1024, 64 KiB), as one Buffer: gaxios makes its text with [chunks].toString()
    expect((await read(failed)).map((c) => [Buffer.isBuffer(c), Buffer.from(c).toString()])).toEqual([[true, big.slice(0, 1024)]]);
    expect(failed.bodyUsed).toBe(true); // gaxios keeps the text on its error only then
    expect(Buffer.concat(await read(await get('/big'))).length).toBe(big.length); // past the 1024 bytes of a body read whole
    expect(sockets.size).toBe(2); // the error's socket closed, the next call on a new one
  });

  it('joins a repeated header as fetch does', async () => {
    const res = await pooledFetch(`${url}/twice`, { agent }, 1024);
    expect(res.headers.get('x-seen')).toBe('a, b');
    expect(await res.text()).toBe('ok');
  });

  it('sends the request line and Host node:http makes of the URL (query kept, fragment dropped, credentials as Basic)', async () => {
    const seen: Array<{ url?: string; host?: string; authorization?: string }> = [];
    const own = createServer((req, res) => {
      seen.push({ url: req.url, host: req.headers.host, authorization: req.headers.authorization });
      res.end('{}');
    });
    await new Promise<void>((r) => own.listen(0, '127.0.0.1', r));
    const port = (own.address() as { port: number }).port;
    try {
      await (await pooledFetch(`http://127.0.0.1:${port}/gmail/v1/users/me/messages?maxResults=5&q=a%20b#frag`, { agent }, 1024)).text();
      await (await pooledFetch(`http://user:pw@127.0.0.1:${port}/with-credentials`, { agent }, 1024)).text();
    } finally {
      own.close();
    }
    expect(seen).toEqual([
      { url: '/gmail/v1/users/me/messages?maxResults=5&q=a%20b', host: `127.0.0.1:${port}`, authorization: undefined },
      { url: '/with-credentials', host: `127.0.0.1:${port}`, authorization: `Basic ${Buffer.from('user:pw').toString('base64')}` },
    ]);
  });

  it('takes only calls on a pool, without a signal of their own, whose body is in memory and answer read whole', () => {
    expect(pooledFetchTakes({ agent, body: '{}' })).toBe(true);
    expect(pooledFetchTakes({ agent, body: new Uint8Array(2) })).toBe(true);
    expect(pooledFetchTakes({ body: '{}' })).toBe(false);
    expect(pooledFetchTakes({ agent, signal: new AbortController().signal })).toBe(false);
    expect(pooledFetchTakes({ agent, responseType: 'stream' })).toBe(false);
    expect(pooledFetchTakes({ agent, body: new URLSearchParams('a=b') })).toBe(false);
  });
});
