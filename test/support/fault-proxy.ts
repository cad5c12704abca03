import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A fault-injecting HTTP proxy for tests, in front of the test S3 server or the Google emulator.
 *
 * Written by hand because the faults we need are HTTP-aware (one request on a keep-alive connection, chosen by method
 * and path, an answer cut only after the server applied the request) and TCP-level fault proxies (toxiproxy and the
 * like) act per connection and need a separate binary. Host headers are forwarded unchanged, so SigV4 signatures
 * made for the proxy's address still verify upstream.
 */

/** What can go wrong with one request. */
export type Fault = 'latency' | 'stall' | 'stall-body' | 'reset' | 'drop-answer' | 'slow-answer' | 'blackhole' | 'redirect' | 'answer' | 'reshape' | 'hold';

/** Which requests a fault applies to, and how often. */
export interface FaultRule {
  /** HTTP method, case-insensitive; any when absent. */
  method?: string;
  /** Path part of the URL (no query): a string matches as a prefix, a RegExp by test(). Any when absent. */
  path?: string | RegExp;
  /** The URL's query string, percent-decoded, without '?' (an S3 listing's `prefix=...`): tested by test(). Any when absent. */
  query?: RegExp;
  /** How many matching requests get the fault; default 1, Infinity allowed. */
  times?: number;
  /**
   * latency: forward after `ms`. stall: accept and never answer (until clear/stop). stall-body: answer `status`
   * (200) with `headers` and the first bytes of a body (`body`), then send nothing more (until clear/stop). reset: destroy the client socket
   * without forwarding. drop-answer: forward, read the complete upstream answer (the server applied the request), then
   * destroy the client socket. slow-answer: forward at once, read the complete upstream answer (the server applied the
   * request, a read saw the state of that moment), and relay it `ms` (default 1000) later. blackhole: this request and every later one, on any connection, is never answered
   * (until blackhole(false)/clear/stop). redirect: answer `status` (default 302) with `location`, without forwarding.
   * answer: answer `status` (default 200) with `body` and `contentType`, without forwarding (what a captive portal or
   * a misbehaving upstream sends). reshape: forward, and pass a JSON answer through `reshape` before relaying it (an
   * upstream whose JSON is not in the documented shape); other answers are relayed unchanged. hold: only through
   * holdNext(), which says when the request goes upstream.
   */
  fault: Fault;
  /** latency and slow-answer: the delay. stall: when given, the stall ends after ms by resetting the client socket. */
  ms?: number;
  /** redirect: where to. */
  location?: string;
  /** redirect and answer: the status. */
  status?: number;
  /** answer: the body and its content type (default text/html). */
  body?: string | Buffer;
  contentType?: string;
  /** answer: more headers (`content-encoding`, say). */
  headers?: Record<string, string>;
  /**
   * answer: send the body this many times over, chunked, with no content-length (Infinity: until the client closes);
   * without it the body goes once, with its length.
   */
  repeat?: number;
  /** reshape: what the relayed JSON becomes. */
  reshape?: (json: unknown) => unknown;
}

/** One request the proxy saw. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** The fault applied, if any. */
  fault?: Fault;
  /** Date.now() when the request arrived. */
  at: number;
  /** The status sent to the client, once an answer was sent. */
  status?: number;
  /** True once the upstream server received the request (it may have applied it). */
  forwarded: boolean;
  /** Date.now() when the client closed the connection before its answer was sent (it gave up). */
  clientClosedAt?: number;
}

/** Options of the random mode for soak tests. */
export interface RandomFaults {
  /** Probability (0..1) that a request gets a fault. */
  rate: number;
  /** Faults to pick from, uniformly. 'blackhole' is treated as 'stall' here (one request, not all). */
  faults: Fault[];
  /** A random stall ends after this many ms by resetting the client socket; default 10 s. */
  stallMs?: number;
  /** Delay of a random latency fault; default 200 ms. */
  latencyMs?: number;
  /** Only requests matching these apply (same rules as inject). */
  method?: string;
  path?: string | RegExp;
}

/** Removes what inject/randomFaults added. */
export interface FaultHandle {
  remove(): void;
  /** How many requests this rule has hit so far. */
  readonly hits: number;
}

interface ActiveRule extends FaultRule {
  remaining: number;
  hits: number;
  /** hold: receives the request once it was read whole. */
  onHold?: (late: LateRequest) => void;
}

/**
 * A request holdNext() kept: read whole, neither forwarded nor answered until release(). This is a write that S3
 * applies late, after its client gave up on it (a PUT stuck in a network path or an overloaded S3 front end, then
 * delivered): what a stall cannot show, since a stalled request never reaches the server at all.
 */
export interface HeldRequest {
  /** Resolves once a matching request arrived and its body was read whole (the body is what release() sends). */
  readonly arrived: Promise<{ request: ProxiedRequest; body: Buffer }>;
  /**
   * Sends the held request upstream now, exactly as it came (method, path, headers, body, so a SigV4 signature still
   * verifies), whether or not its client still waits; relays the answer to the client if it does. Resolves with the
   * upstream's answer. Rejects when nothing was held yet, or clear()/stop() dropped the request.
   */
  release(): Promise<{ status: number; body: string }>;
}

interface LateRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  res: ServerResponse;
  entry: ProxiedRequest;
}

interface Held {
  res: ServerResponse;
  timer?: NodeJS.Timeout;
  reason: 'stall' | 'blackhole';
}

export class FaultProxy {
  /** Every request seen, in arrival order. */
  readonly requests: ProxiedRequest[] = [];
  private rules: ActiveRule[] = [];
  private random?: RandomFaults & { hits: number };
  private blackholed = false;
  private readonly held = new Set<Held>();
  /** Requests holdNext() keeps for a later release. */
  private readonly late = new Set<LateRequest>();
  private readonly sockets = new Set<Socket>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly target: URL;

  private constructor(
    private readonly server: Server,
    targetBaseUrl: string,
  ) {
    this.target = new URL(targetBaseUrl);
  }

  /** Starts a proxy on 127.0.0.1 (free port) forwarding to targetBaseUrl (its path, if any, prefixes every path). */
  static async start(targetBaseUrl: string): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, targetBaseUrl);
    // A stalled request must stay stalled as long as the test wants; Node's own timeouts would end it.
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    server.keepAliveTimeout = 60_000;
    server.on('request', (req, res) => proxy.handle(req, res));
    server.on('connection', (socket: Socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** The proxy's base URL (origin, no trailing slash). */
  get url(): string {
    const { port } = this.server.address() as { port: number };
    return `http://127.0.0.1:${port}`;
  }

  /** Maps a URL of the target (e.g. the emulator's token URL) to the same URL through this proxy. */
  rewrite(targetUrl: string): string {
    const u = new URL(targetUrl);
    if (u.origin !== this.target.origin) throw new Error(`${targetUrl} is not on the proxied target ${this.target.origin}`);
    const base = this.target.pathname.replace(/\/$/, '');
    const rest = u.pathname.startsWith(base) ? u.pathname.slice(base.length) : u.pathname;
    return `${this.url}${rest}${u.search}`;
  }

  /** Adds a fault for matching requests; rules are tried in the order they were added. */
  inject(rule: FaultRule): FaultHandle {
    if (rule.fault === 'hold') throw new Error('a hold is released by its handle: use holdNext()');
    const active: ActiveRule = { ...rule, remaining: rule.times ?? 1, hits: 0 };
    this.rules.push(active);
    return {
      remove: () => {
        this.rules = this.rules.filter((r) => r !== active);
      },
      get hits() {
        return active.hits;
      },
    };
  }

  /**
   * Holds the next request matching method/path/query (same rules as inject) whole, forwarding nothing and
   * answering nothing, until the handle's release() sends it upstream (see HeldRequest).
   */
  holdNext(match: Pick<FaultRule, 'method' | 'path' | 'query'>): HeldRequest {
    let held: LateRequest | undefined;
    let arrive!: (value: { request: ProxiedRequest; body: Buffer }) => void;
    const arrived = new Promise<{ request: ProxiedRequest; body: Buffer }>((resolve) => (arrive = resolve));
    const onHold = (late: LateRequest) => {
      held = late;
      arrive({ request: late.entry, body: late.body });
    };
    this.rules.push({ ...match, fault: 'hold', remaining: 1, hits: 0, onHold });
    return {
      arrived,
      release: () => {
        if (!held) return Promise.reject(new Error('no request is held yet: await arrived first'));
        if (!this.late.delete(held)) return Promise.reject(new Error('the held request was released or dropped already'));
        return this.forwardLate(held);
      },
    };
  }

  /** Black-holes everything (true): connections are accepted, no request, new or in flight, is ever answered. */
  blackhole(on: boolean): void {
    this.blackholed = on;
    if (!on) this.releaseHeld('blackhole');
  }

  /** Soak mode: each matching request gets a random fault with probability rate. */
  randomFaults(opts: RandomFaults): FaultHandle {
    const random = { ...opts, hits: 0 };
    this.random = random;
    return {
      remove: () => {
        if (this.random === random) this.random = undefined;
      },
      get hits() {
        return random.hits;
      },
    };
  }

  /**
   * Removes every rule, the random mode and the black hole, and resets every held (stalled) request; a request
   * holdNext() still holds is dropped, never forwarded.
   */
  clear(): void {
    this.rules = [];
    this.random = undefined;
    this.blackholed = false;
    this.releaseHeld();
    for (const late of this.late) late.res.socket?.destroy();
    this.late.clear();
  }

  /** Requests matching method/path seen so far (a convenience over `requests`). */
  seen(method?: string, path?: string | RegExp): ProxiedRequest[] {
    return this.requests.filter((r) => matches({ method, path }, r.method, r.path));
  }

  /** Stops listening and closes every connection, both sides. */
  async stop(): Promise<void> {
    this.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const [path, rawQuery = ''] = (req.url ?? '/').split('?', 2);
    const query = safeDecode(rawQuery);
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: ProxiedRequest = { method, path, at: Date.now(), forwarded: false };
    this.requests.push(entry);
    res.on('close', () => {
      if (!res.writableFinished && entry.clientClosedAt === undefined) entry.clientClosedAt = Date.now();
    });

    const fault = this.pickFault(method, path, query);
    if (fault) entry.fault = fault.fault;
    if (this.blackholed) {
      entry.fault = 'blackhole';
      return this.hold(res, 'blackhole');
    }
    switch (fault?.fault) {
      case 'reset':
        return void req.socket.destroy();
      case 'stall':
        return this.hold(res, 'stall', fault.ms);
      case 'stall-body':
        req.resume();
        entry.status = fault.status ?? 200;
        res.writeHead(entry.status, { 'content-type': fault.contentType ?? 'application/octet-stream', ...fault.headers });
        res.write(fault.body ?? 'x');
        return this.hold(res, 'stall');
      case 'blackhole':
        this.blackholed = true;
        return this.hold(res, 'blackhole');
      case 'latency': {
        const timer = setTimeout(() => this.forward(req, res, entry, false), fault.ms ?? 0);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'drop-answer':
        return this.forward(req, res, entry, true);
      case 'slow-answer':
        return this.forward(req, res, entry, false, undefined, fault.ms ?? 1000);
      case 'reshape':
        return this.forward(req, res, entry, false, fault.reshape);
      case 'hold':
        return this.holdForLater(req, res, entry, fault.onHold);
      case 'redirect':
        req.resume();
        entry.status = fault.status ?? 302;
        return void res.writeHead(entry.status, { location: fault.location ?? '/', 'content-length': '0' }).end();
      case 'answer':
        req.resume();
        entry.status = fault.status ?? 200;
        return this.answer(res, entry.status, fault);
      default:
        return this.forward(req, res, entry, false);
    }
  }

  /** The answer fault: the body once with its length, or `repeat` times chunked, as fast as the client reads. */
  private answer(res: ServerResponse, status: number, fault: Pick<FaultRule, 'body' | 'contentType' | 'headers' | 'repeat'>): void {
    const body = fault.body ?? '';
    const headers = { 'content-type': fault.contentType ?? 'text/html', ...fault.headers };
    if (fault.repeat === undefined) return void res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) }).end(body);
    res.writeHead(status, headers);
    let left = fault.repeat;
    const pump = (): void => {
      for (; left > 0; ) {
        left--;
        if (res.destroyed) return;
        if (!res.write(body)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  }

  /** The first rule (or the random mode) that applies to this request; consumes one of its `times`. */
  private pickFault(method: string, path: string, query: string): Pick<ActiveRule, 'fault' | 'ms' | 'location' | 'status' | 'body' | 'contentType' | 'headers' | 'repeat' | 'reshape' | 'onHold'> | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && matches(r, method, path) && (!r.query || r.query.test(query)));
    if (rule) {
      rule.remaining -= 1;
      rule.hits += 1;
      if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
      return rule;
    }
    const random = this.random;
    if (random && random.faults.length > 0 && matches(random, method, path) && Math.random() < random.rate) {
      random.hits += 1;
      const picked = random.faults[Math.floor(Math.random() * random.faults.length)];
      if (picked === 'stall' || picked === 'blackhole' || picked === 'hold') return { fault: 'stall', ms: random.stallMs ?? 10_000 };
      if (picked === 'latency') return { fault: 'latency', ms: random.latencyMs ?? 200 };
      return { fault: picked };
    }
    return undefined;
  }

  /** Never answers; a timed stall (random mode) resets the client socket after `endAfterMs`. */
  private hold(res: ServerResponse, reason: Held['reason'], endAfterMs?: number): void {
    const held: Held = { res, reason };
    if (endAfterMs !== undefined && reason === 'stall') {
      held.timer = setTimeout(() => {
        this.held.delete(held);
        res.socket?.destroy();
      }, endAfterMs);
    }
    this.held.add(held);
    res.on('close', () => {
      clearTimeout(held.timer);
      this.held.delete(held);
    });
  }

  /** Reads the request whole and keeps it (with its client's response, if the client stays) for forwardLate. */
  private holdForLater(req: IncomingMessage, res: ServerResponse, entry: ProxiedRequest, onHold: ActiveRule['onHold']): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const late: LateRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: { ...req.headers }, body: Buffer.concat(chunks), res, entry };
      this.late.add(late);
      onHold?.(late);
    });
  }

  /** Sends a held request upstream on a connection of its own, reads the answer whole and relays it if the client still waits. */
  private forwardLate(late: LateRequest): Promise<{ status: number; body: string }> {
    const headers = { ...late.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    delete headers.expect; // the body goes at once: nothing to wait for a 100 Continue for
    return new Promise((resolve, reject) => {
      const upstream = httpRequest({
        protocol: this.target.protocol,
        hostname: this.target.hostname,
        port: this.target.port,
        method: late.method,
        path: `${this.target.pathname.replace(/\/$/, '')}${late.url}`,
        headers,
        agent: this.agent,
      });
      late.entry.forwarded = true;
      upstream.on('error', reject);
      upstream.on('response', (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('error', reject);
        upRes.on('end', () => {
          const status = upRes.statusCode ?? 502;
          const body = Buffer.concat(chunks);
          if (!late.res.destroyed && !late.res.writableEnded) {
            const out = { ...upRes.headers };
            delete out.connection;
            delete out['keep-alive'];
            late.entry.status = status;
            late.res.writeHead(status, out).end(body);
          }
          resolve({ status, body: body.toString('utf8') });
        });
      });
      upstream.end(late.body);
    });
  }

  private releaseHeld(reason?: Held['reason']): void {
    for (const h of [...this.held]) {
      if (reason && h.reason !== reason) continue;
      clearTimeout(h.timer);
      this.held.delete(h);
      h.res.socket?.destroy();
    }
  }

  /**
   * Sends the request upstream; relays the answer, or (dropAnswer) reads it whole and then cuts the client off, or
   * (reshape) relays a JSON answer transformed, or (holdAnswerMs) reads it whole and relays it that much later.
   */
  private forward(req: IncomingMessage, res: ServerResponse, entry: ProxiedRequest, dropAnswer: boolean, reshape?: (json: unknown) => unknown, holdAnswerMs?: number): void {
    if (res.destroyed || req.socket.destroyed) return;
    const base = this.target.pathname.replace(/\/$/, '');
    const headers = { ...req.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    if (reshape) delete headers['accept-encoding']; // the answer is rewritten: it has to arrive readable
    const upstream = httpRequest({
      protocol: this.target.protocol,
      hostname: this.target.hostname,
      port: this.target.port,
      method: req.method,
      path: `${base}${req.url ?? '/'}`,
      headers,
      agent: this.agent,
    });
    entry.forwarded = true;
    // The client gave up: close the upstream request too, as a TCP proxy would pass the FIN/RST on.
    const onClientGone = () => {
      if (!res.writableFinished) upstream.destroy();
    };
    res.on('close', onClientGone);
    upstream.on('error', () => res.socket?.destroy());
    upstream.on('response', (upRes) => {
      if (dropAnswer) {
        upRes.resume();
        upRes.on('end', () => {
          res.off('close', onClientGone);
          res.socket?.destroy();
        });
        return;
      }
      if (this.blackholed) {
        // The black hole swallows answers already on their way too.
        upRes.resume();
        entry.fault = 'blackhole';
        return this.hold(res, 'blackhole');
      }
      const out = { ...upRes.headers };
      delete out.connection;
      delete out['keep-alive'];
      if (holdAnswerMs !== undefined) return relayLater(upRes, res, out, holdAnswerMs, () => (entry.status = upRes.statusCode));
      entry.status = upRes.statusCode;
      if (reshape && /json/.test(String(upRes.headers['content-type']))) return relayReshaped(upRes, res, out, reshape);
      res.writeHead(upRes.statusCode ?? 502, out);
      upRes.pipe(res);
    });
    req.pipe(upstream);
  }
}

/** Reads a JSON answer whole and relays what `reshape` makes of it (unparseable JSON is relayed as it came). */
function relayReshaped(upRes: IncomingMessage, res: ServerResponse, headers: Record<string, unknown>, reshape: (json: unknown) => unknown): void {
  const chunks: Buffer[] = [];
  upRes.on('data', (c: Buffer) => chunks.push(c));
  upRes.on('end', () => {
    let body = Buffer.concat(chunks).toString('utf8');
    try {
      body = JSON.stringify(reshape(JSON.parse(body)));
    } catch {
      // not JSON after all: relayed unchanged
    }
    const out: Record<string, unknown> = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    delete out['transfer-encoding'];
    res.writeHead(upRes.statusCode ?? 502, out as Record<string, string>).end(body);
  });
}

/** Reads an answer whole, then relays it `ms` later (calling `sent` as it goes); nothing if the client left meanwhile. */
function relayLater(upRes: IncomingMessage, res: ServerResponse, headers: Record<string, unknown>, ms: number, sent: () => void): void {
  const chunks: Buffer[] = [];
  upRes.on('data', (c: Buffer) => chunks.push(c));
  upRes.on('end', () => {
    const timer = setTimeout(() => {
      if (res.destroyed) return;
      sent();
      res.writeHead(upRes.statusCode ?? 502, headers as Record<string, string>).end(Buffer.concat(chunks));
    }, ms);
    res.on('close', () => clearTimeout(timer));
  });
}

function safeDecode(query: string): string {
  try {
    return decodeURIComponent(query);
  } catch {
    return query;
  }
}

function matches(rule: { method?: string; path?: string | RegExp }, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? path.startsWith(rule.path) : rule.path.test(path);
}
