import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { getWithBearer, type Service, signIn, startService, startWorld, type World } from '../support/harness.js';

const GMAIL = '/v1/users/me/gmail/messages';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * An HTTP/1.1 connection (kept alive by default) written to by hand: its request can be left half-sent when the
 * shutdown starts, so Node's close() does not drop it as idle, and finished once the server is closing: how a
 * request reaches an instance that has already stopped taking new ones. (A connection idle between two requests is
 * closed by Node then, even with the next request half-sent: tried, the client sees the connection end.)
 */
class RawConnection {
  private received = '';
  private readonly closed: Promise<void>;
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (this.received += d));
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** The answer that ends the connection (the service closes it after a refusal while closing). */
  async last(): Promise<RawAnswer | undefined> {
    await this.closed;
    return parse(this.received);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function parse(text: string): RawAnswer | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const length = Number(headers['content-length'] ?? 0);
  const body = text.slice(end + 4);
  if (Buffer.byteLength(body) < length) return undefined;
  return { status: Number(statusLine?.split(' ')[1]), headers, body: Buffer.from(body).subarray(0, length).toString() };
}

/** Resolves once the server takes no new connections: Fastify is closing from then on. */
async function stoppedAccepting(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(Number(port), hostname, () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    if (refused) return;
    await sleep(20);
  }
}

/**
 * Resolves once the service's HTTP server has accepted `count` connections (collected in `accepted`) and read `bytes`
 * from them: the requests are begun at the server, not still on their way, when the close comes. (Node's HTTP
 * parser reads straight from the socket and parses as it reads, so what bytesRead counts has been parsed.)
 */
async function serverHasRead(accepted: Socket[], count: number, bytes: number, ms = 5000): Promise<void> {
  const read = () => accepted.reduce((sum, s) => sum + s.bytesRead, 0);
  for (const deadline = Date.now() + ms; accepted.length < count || read() < bytes; await sleep(5)) {
    if (Date.now() > deadline) throw new Error(`within ${ms} ms the server accepted ${accepted.length} of ${count} connections and read ${read()} of their ${bytes} bytes`);
  }
}

/** The requests sent to the closing instance: each half-sent before the close, finished after it. */
function requests(token: string): Record<string, [string, string]> {
  const form = 'grant_type=refresh_token&refresh_token=anything&client_id=anyone';
  const registration = JSON.stringify({ client_name: 'late', redirect_uris: ['http://127.0.0.1:9/cb'] });
  const rpc = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  return {
    rest: [`GET ${GMAIL} HTTP/1.1\r\nHost: localhost\r\n`, `Authorization: Bearer ${token}\r\n\r\n`],
    token: ['POST /oauth/token HTTP/1.1\r\nHost: localhost\r\n', `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`],
    register: ['POST /oauth/register HTTP/1.1\r\nHost: localhost\r\n', `Content-Type: application/json\r\nContent-Length: ${registration.length}\r\n\r\n${registration}`],
    mcp: ['POST /mcp HTTP/1.1\r\nHost: localhost\r\n', `Authorization: Bearer ${token}\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: ${rpc.length}\r\n\r\n${rpc}`],
  };
}

/**
 * Node's close() drops the idle connections, but a request already begun on a connection (or pipelined on a busy one)
 * still reaches Fastify after it started closing. Its answer is the service's 503 like every other one: the JSON error
 * with Retry-After and a next step, OAuth-shaped at the OAuth endpoints, closing its connection; while the request that
 * was in flight when the shutdown began still gets its whole answer.
 */
describe('a request that reaches an instance whose HTTP server is already closing (graceful shutdown)', () => {
  let world: World;
  let sut: Service | undefined;
  const open: RawConnection[] = [];

  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    for (const c of open) c.destroy();
    await sut?.close().catch(() => undefined);
    await world?.close();
  });

  it('answers the service\'s 503 shutting_down (temporarily_unavailable at the OAuth endpoints) with Retry-After, and the drain still completes the request in flight', async () => {
    sut = await startService(world, { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_DRAIN_MS: '10000', GOOGLE_HTTP_TIMEOUT_MS: '10000' });
    const { access_token } = await signIn(sut, world, 'closing@example.com');
    const held = world.google.holdNext('api'); // keeps this request in flight, so the close waits for it
    const inFlight = getWithBearer(sut, GMAIL, access_token);
    await held.arrived;
    const late = Object.entries(requests(access_token));
    const server = sut.app.getHttpServer() as Server;
    const accepted: Socket[] = [];
    const onConnection = (socket: Socket) => accepted.push(socket);
    server.on('connection', onConnection);
    const connections = await Promise.all(late.map(() => RawConnection.open((sut as Service).url)));
    open.push(...connections);
    late.forEach(([, [begun]], i) => connections[i]?.write(begun));
    // Closed once the server has the begun parts, not a fixed time after they were sent: on a busy machine they
    // may still be on their way then, and the requests are begun only after the close.
    await serverHasRead(accepted, late.length, late.reduce((sum, [, [begun]]) => sum + Buffer.byteLength(begun), 0));
    server.off('connection', onConnection);
    const closed = sut.close();
    await stoppedAccepting(sut.url);
    late.forEach(([, [, rest]], i) => connections[i]?.write(rest));
    const answers = Object.fromEntries(await Promise.all(late.map(async ([name], i) => [name, await connections[i]?.last()] as const)));

    const next = expect.stringMatching(/^This instance is shutting down.*Retry the request: another instance/);
    for (const [name, answer] of Object.entries(answers)) {
      expect({ name, status: answer?.status }).toEqual({ name, status: 503 });
      expect(answer?.headers).toMatchObject({ 'retry-after': '1', connection: 'close', 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff', 'x-request-id': expect.any(String) });
    }
    const service = { statusCode: 503, error: 'shutting_down', message: next };
    expect(JSON.parse(answers.rest?.body ?? '')).toEqual(service);
    expect(JSON.parse(answers.mcp?.body ?? '')).toEqual(service); // as /mcp's other 503s (feature_unavailable, storage_unavailable)
    const oauth = { statusCode: 503, error: 'temporarily_unavailable', error_description: next, message: next, reason: 'shutting_down' };
    expect(JSON.parse(answers.token?.body ?? '')).toEqual(oauth);
    expect(JSON.parse(answers.register?.body ?? '')).toEqual(oauth);

    held.release();
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(await answered.json()).toHaveProperty('messages');
    await closed;
    // Each refusal is an ordinary request line, and nothing logged a stack trace.
    const refusals = world.logs.lines.filter((l) => /"status":503/.test(l.text));
    expect(refusals).toHaveLength(4);
    expect(world.logs.text).not.toMatch(/\n\s+at |"stack"/);
  }, 30_000);
});
