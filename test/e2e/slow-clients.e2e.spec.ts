import { connect, type Socket } from 'node:net';
import { getWithBearer, type Service, signIn, startWorldWithService, stopAll, type World } from '../support/harness.js';

const REQUEST_TIMEOUT_MS = 1500;
/** Node checks its request timers on an interval (a quarter of the timeout here, at least 250 ms), plus timer lag. */
const SLACK_MS = 1500;

/** A raw connection to the service that records what it is sent and when the service closes it. */
class RawClient {
  received = '';
  closedAt?: number;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (this.received += d));
    socket.on('close', () => (this.closedAt = Date.now()));
    socket.on('error', () => undefined);
  }

  static open(url: string): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes `text` every 200 ms, as a slow client would, until the returned function is called. */
  trickle(text: string): () => void {
    const timer = setInterval(() => this.socket.writable && this.socket.write(text), 200);
    return () => clearInterval(timer);
  }

  /** Resolves with how long after `since` the service closed the connection, or undefined if it still holds it after `ms`. */
  async closedWithin(since: number, ms: number): Promise<number | undefined> {
    for (let waited = 0; waited < ms && this.closedAt === undefined; waited += 50) await new Promise((r) => setTimeout(r, 50));
    return this.closedAt === undefined ? undefined : this.closedAt - since;
  }
}

/**
 * A client that opens a connection and then sends its request slowly (or not at all) must not hold the connection,
 * and the memory behind it, for as long as it likes: on the open internet that is the cheapest denial of service
 * (slowloris). Fastify turns Node's own request timeout off; the service sets it (HTTP_REQUEST_TIMEOUT_MS).
 */
describe('slow clients are cut off after HTTP_REQUEST_TIMEOUT_MS', () => {
  let world: World;
  let sut: Service;
  const open: RawClient[] = [];

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService({ HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }));
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.socket.destroy();
  });
  afterAll(() => stopAll(world, sut));

  it('a body trickled a byte at a time to an anonymous endpoint gets 408 and the connection is closed', async () => {
    const client = await RawClient.open(sut.url);
    open.push(client);
    const since = Date.now();
    client.socket.write('POST /oauth/register HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: trickled-body\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const stop = client.trickle(' ');
    try {
      const after = await client.closedWithin(since, REQUEST_TIMEOUT_MS + SLACK_MS + 3000);
      expect(after).toBeDefined();
      expect(after).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
      expect(after).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
      expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
      expect(client.received).toMatch(/"statusCode":408/);
      // The request had reached its route: it has its one request line, with the 408 it was sent and who ended it.
      const lines = () => sut.logs.lines.map((l) => l.message as Record<string, unknown>).filter((m) => m?.msg === 'request' && m.reqId === 'trickled-body');
      for (let waited = 0; waited < 1000 && lines().length === 0; waited += 20) await new Promise((r) => setTimeout(r, 20));
      expect(lines()).toEqual([expect.objectContaining({ method: 'POST', route: '/oauth/register', status: 408, outcome: 'cut' })]);
    } finally {
      stop();
    }
  });

  it('headers that never end are cut off the same way', async () => {
    const client = await RawClient.open(sut.url);
    open.push(client);
    const since = Date.now();
    client.socket.write('GET /auth/session HTTP/1.1\r\nHost: localhost\r\n');
    const stop = client.trickle('X-Slow: 1\r\n');
    try {
      const after = await client.closedWithin(since, REQUEST_TIMEOUT_MS + SLACK_MS + 3000);
      expect(after).toBeDefined();
      expect(after).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
    } finally {
      stop();
    }
  });

  it('a connection that never sends a byte is closed the same way', async () => {
    const client = await RawClient.open(sut.url);
    open.push(client);
    const after = await client.closedWithin(Date.now(), REQUEST_TIMEOUT_MS + SLACK_MS + 3000);
    expect(after).toBeDefined();
    expect(after).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
  });

  it('a request sent at a normal pace on the same kind of connection is answered, and a kept-alive idle connection stays open', async () => {
    const client = await RawClient.open(sut.url);
    open.push(client);
    client.socket.write('GET /health/ready HTTP/1.1\r\nHost: localhost\r\n\r\n');
    for (let i = 0; i < 40 && !client.received.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(client.received).toMatch(/^HTTP\/1\.1 200 /);
    // Idle between requests is the keep-alive timeout's business (72 s), not the request timeout's.
    expect(await client.closedWithin(Date.now(), REQUEST_TIMEOUT_MS + SLACK_MS)).toBeUndefined();
  });
});

const SEND_TIMEOUT_MS = 1500;

/** Connects and sends `requests` pipelined, reading nothing until told to. */
function pipelined(url: string, requests: number, path: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`.repeat(requests));
      resolve(socket);
    });
    socket.pause();
    socket.once('error', reject);
  });
}

/**
 * The other half: a client that asks and then stops reading the answer. The answer (up to 48 MiB of Google's),
 * its socket and the shutdown's drain would be held for as long as the client likes; nginx's send_timeout is the
 * usual bound, HTTP_SEND_TIMEOUT_MS here.
 */
describe('a client that stops reading its answers is cut off after HTTP_SEND_TIMEOUT_MS', () => {
  let world: World;
  let sut: Service;
  const sockets: Socket[] = [];
  let documentBytes = 0;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService({ HTTP_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS), GOOGLE_HTTP_TIMEOUT_MS: String(SEND_TIMEOUT_MS * 2) }));
    documentBytes = (await (await fetch(`${sut.url}/openapi.json`)).arrayBuffer()).byteLength;
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });
  afterAll(() => stopAll(world, sut));

  it('answers it asked for and never reads: the connection is closed once they have not moved for the timeout', async () => {
    // Far more than the socket buffers on both sides hold.
    const requests = Math.ceil((32 * 1024 * 1024) / documentBytes);
    const socket = await pipelined(sut.url, requests, '/openapi.json');
    sockets.push(socket);
    const started = Date.now();
    const cut = () => sut.logs.lines.some((line) => JSON.stringify(line).includes('send_timeout'));
    while (!cut() && Date.now() - started < SEND_TIMEOUT_MS * 4 + SLACK_MS) await new Promise((r) => setTimeout(r, 50));
    const cutAfter = Date.now() - started;
    expect(cut()).toBe(true);
    expect(cutAfter).toBeGreaterThanOrEqual(SEND_TIMEOUT_MS - 100);
    // The client, reading at last, gets what the kernel still held and then the end: far from all it asked for.
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    const ended = await new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      socket.resume();
      setTimeout(() => resolve(false), 5_000);
    });
    expect(ended).toBe(true);
    expect(received).toBeLessThan(requests * documentBytes);
    // The service goes on answering everyone else.
    expect((await fetch(`${sut.url}/health/ready`)).status).toBe(200);
  });

  it('a slow client that keeps reading, with pauses shorter than the timeout, keeps its connection', async () => {
    const requests = Math.ceil((48 * 1024 * 1024) / documentBytes);
    const socket = await pipelined(sut.url, requests, '/openapi.json');
    sockets.push(socket);
    let received = 0;
    let closed = false;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.once('close', () => (closed = true));
    // Reads for 20 ms, then nothing for 500 ms (a third of the timeout), for 4 timeouts' time or until it has it all.
    const expected = requests * documentBytes; // the bodies alone: the heads come on top
    const until = Date.now() + SEND_TIMEOUT_MS * 4;
    let pauses = 0;
    while (received < expected && Date.now() < until && !closed) {
      socket.resume();
      await new Promise((r) => setTimeout(r, 20));
      socket.pause();
      await new Promise((r) => setTimeout(r, 500));
      pauses++;
    }
    expect(closed).toBe(false);
    expect(pauses).toBeGreaterThanOrEqual(4); // it really was slow: more than one timeout long
    expect(received).toBeGreaterThan(2 * documentBytes); // and it was moving
  }, 30_000);

  it('a request that waits longer than the timeout for Google, with nothing to send yet, is answered', async () => {
    const { access_token } = await signIn(sut, world, 'send-timeout@example.com');
    world.google.failNext('api', 'timeout'); // Google holds the call until GOOGLE_HTTP_TIMEOUT_MS, twice the send timeout
    const started = Date.now();
    const res = await getWithBearer(sut, '/v1/users/me/gmail/messages', access_token);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(SEND_TIMEOUT_MS * 2 - 100);
  });
});
