import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { SendTimeout } from './send-timeout.js';

// A real node:http server and raw client sockets: what counts is what the kernel takes, which no fake can show.
describe('SendTimeout', () => {
  const TIMEOUT_MS = 1000;
  let server: Server;
  let port: number;
  let cuts = 0;
  const clients: Socket[] = [];

  beforeAll(async () => {
    // More than the socket buffers hold, then a heartbeat of non-ASCII text for as long as the connection lasts.
    const big = Buffer.alloc(16 * 1024 * 1024, 0x61);
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(big);
      const beat = setInterval(() => res.write('data: héllo ✓\n\n'), 100);
      res.on('close', () => clearInterval(beat));
    });
    new SendTimeout(TIMEOUT_MS, (n) => (cuts += n)).watch(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  /** A client that asks and reads nothing until told to. */
  function ask(): Promise<Socket> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.pause();
      socket.on('error', () => undefined);
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      clients.push(socket);
    });
  }

  it('cuts a client that reads nothing, although the service keeps writing to it', async () => {
    cuts = 0;
    await ask();
    const started = Date.now();
    while (cuts === 0 && Date.now() - started < TIMEOUT_MS * 5) await new Promise((r) => setTimeout(r, 50));
    expect(cuts).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });

  it('keeps a client that reads in bursts with pauses shorter than the timeout', async () => {
    cuts = 0;
    const socket = await ask();
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
      socket.resume();
      await new Promise((r) => setTimeout(r, 10));
      socket.pause();
    }
    expect(cuts).toBe(0);
    expect(socket.destroyed).toBe(false);
    expect(received).toBeGreaterThan(1024 * 1024);
  });
});
