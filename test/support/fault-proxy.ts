import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { answer, beginBody, redirect } from './fault-proxy/answers.js';
import { LateRequests, Stalls, type HeldAnswer, type HeldRequest, type LateRequest } from './fault-proxy/holds.js';
import { record, type ProxiedRequest } from './fault-proxy/request-log.js';
import { FaultRules, matches, type FaultHandle, type FaultRule, type RandomFaults } from './fault-proxy/rules.js';
import { Upstream } from './fault-proxy/upstream.js';

export type { Fault, FaultHandle, FaultRule, RandomFaults } from './fault-proxy/rules.js';
export type { HeldAnswer, HeldRequest } from './fault-proxy/holds.js';
export type { ProxiedRequest } from './fault-proxy/request-log.js';

/**
 * A fault-injecting HTTP proxy for tests, in front of the test S3 server or the Google emulator.
 *
 * Written by hand because the faults we need are HTTP-aware (one request on a keep-alive connection, chosen by method
 * and path, an answer cut only after the server applied the request) and TCP-level fault proxies (toxiproxy and the
 * like) act per connection and need a separate binary. Host headers are forwarded unchanged, so SigV4 signatures
 * made for the proxy's address still verify upstream.
 *
 * This file is the server and the choice of what each request gets; the parts live under fault-proxy/: the faults
 * and which request gets one (rules.ts), the record of what was seen (request-log.ts), the requests kept
 * unanswered (holds.ts), the answers made up without the target (answers.ts), and the forwarding (upstream.ts).
 */
export class FaultProxy {
  /** Every request seen, in arrival order. */
  readonly requests: ProxiedRequest[] = [];
  private readonly rules = new FaultRules<LateRequest>();
  private blackholed = false;
  private readonly stalls = new Stalls();
  /** Requests holdNext() keeps for a later release. */
  private readonly late = new LateRequests();
  private readonly sockets = new Set<Socket>();
  private readonly upstream: Upstream;

  private constructor(
    private readonly server: Server,
    targetBaseUrl: string,
  ) {
    this.upstream = new Upstream(targetBaseUrl);
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
    return this.upstream.rewrite(targetUrl, this.url);
  }

  /** Adds a fault for matching requests; rules are tried in the order they were added. */
  inject(rule: FaultRule): FaultHandle {
    if (rule.fault === 'hold') throw new Error('a hold is released by its handle: use holdNext()');
    return this.rules.add({ ...rule, remaining: rule.times ?? 1, hits: 0 });
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
    this.rules.add({ ...match, fault: 'hold', remaining: 1, hits: 0, onHold });
    return {
      arrived,
      release: () => {
        if (!held) return Promise.reject(new Error('no request is held yet: await arrived first'));
        if (!this.late.take(held)) return Promise.reject(new Error('the held request was released or dropped already'));
        return this.upstream.forwardLate(held);
      },
    };
  }

  /**
   * Forwards the next request matching method/path/query (same rules as inject) at once, reads its answer whole and
   * keeps it from the client until the handle's release() (see HeldAnswer): a slow-answer whose end the test decides.
   */
  holdAnswerNext(match: Pick<FaultRule, 'method' | 'path' | 'query'>): HeldAnswer {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let onRead!: (request: ProxiedRequest) => void;
    const answered = new Promise<ProxiedRequest>((resolve) => (onRead = resolve));
    this.rules.add({ ...match, fault: 'slow-answer', remaining: 1, hits: 0, answerHold: { released, onRead } });
    return { answered, release };
  }

  /** Black-holes everything (true): connections are accepted, no request, new or in flight, is ever answered. */
  blackhole(on: boolean): void {
    this.blackholed = on;
    if (!on) this.stalls.release('blackhole');
  }

  /** Soak mode: each matching request gets a random fault with probability rate. */
  randomFaults(opts: RandomFaults): FaultHandle {
    return this.rules.randomFaults(opts);
  }

  /**
   * Removes every rule, the random mode and the black hole, and resets every held (stalled) request; a request
   * holdNext() still holds is dropped, never forwarded.
   */
  clear(): void {
    this.rules.clear();
    this.blackholed = false;
    this.stalls.release();
    this.late.drop();
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
    this.upstream.destroy();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const { entry, query } = record(req, res);
    this.requests.push(entry);
    const fault = this.rules.pick(entry.method, entry.path, query);
    if (fault) entry.fault = fault.fault;
    if (this.blackholed) {
      entry.fault = 'blackhole';
      return this.stalls.hold(res, 'blackhole');
    }
    // The black hole swallows answers already on their way too.
    const swallow = (out: ServerResponse) => {
      if (!this.blackholed) return false;
      entry.fault = 'blackhole';
      this.stalls.hold(out, 'blackhole');
      return true;
    };
    switch (fault?.fault) {
      case 'reset':
        return void req.socket.destroy();
      case 'stall':
        return this.stalls.hold(res, 'stall', fault.ms);
      case 'stall-body':
        req.resume();
        entry.status = fault.status ?? 200;
        beginBody(res, entry.status, fault);
        return this.stalls.hold(res, 'stall');
      case 'blackhole':
        this.blackholed = true;
        return this.stalls.hold(res, 'blackhole');
      case 'latency': {
        const timer = setTimeout(() => this.upstream.forward(req, res, entry, { swallow }), fault.ms ?? 0);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'drop-answer':
        return this.upstream.forward(req, res, entry, { dropAnswer: true, swallow });
      case 'slow-answer': {
        const hold = fault.answerHold;
        if (!hold) return this.upstream.forward(req, res, entry, { holdAnswer: { ms: fault.ms ?? 1000 }, swallow });
        this.stalls.hold(res, 'stall'); // kept until released: clear() and stop() reset it, as a stall
        return this.upstream.forward(req, res, entry, { holdAnswer: { until: hold.released, onRead: () => hold.onRead(entry) }, swallow });
      }
      case 'reshape':
        return this.upstream.forward(req, res, entry, { reshape: fault.reshape, swallow });
      case 'hold':
        return this.late.keep(req, res, entry, fault.onHold);
      case 'redirect':
        req.resume();
        entry.status = fault.status ?? 302;
        return redirect(res, entry.status, fault.location ?? '/');
      case 'answer':
        req.resume();
        entry.status = fault.status ?? 200;
        return answer(res, entry.status, fault, entry);
      default:
        return this.upstream.forward(req, res, entry, { swallow });
    }
  }
}
