import type { ProxiedRequest } from './request-log.js';

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
  /** answer with `repeat`: send the body once every `everyMs` instead of as fast as the client reads (a trickle). */
  everyMs?: number;
  /** reshape: what the relayed JSON becomes. */
  reshape?: (json: unknown) => unknown;
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

/** A rule as the proxy keeps it: with what is left of its `times`, and for a hold, who gets the held request. */
export interface ActiveRule<Late = unknown> extends FaultRule {
  remaining: number;
  hits: number;
  /** hold: receives the request once it was read whole. */
  onHold?: (late: Late) => void;
  /** slow-answer through holdAnswerNext(): the answer is relayed once `released` resolves, not after `ms`. */
  answerHold?: AnswerHold;
}

/** How holdAnswerNext() keeps an answer: told when the upstream's answer was read, relays it once released. */
export interface AnswerHold {
  released: Promise<void>;
  onRead: (request: ProxiedRequest) => void;
}

/** The fault one request gets: its rule's settings. */
export type PickedFault<Late = unknown> = Pick<ActiveRule<Late>, 'fault' | 'ms' | 'location' | 'status' | 'body' | 'contentType' | 'headers' | 'repeat' | 'everyMs' | 'reshape' | 'onHold' | 'answerHold'>;

/** The rule book: which request gets which fault (the rules in the order they were added, then the random mode). */
export class FaultRules<Late = unknown> {
  private rules: ActiveRule<Late>[] = [];
  private random?: RandomFaults & { hits: number };

  /** Adds a rule; its handle removes it and counts its hits. */
  add(rule: ActiveRule<Late>): FaultHandle {
    this.rules.push(rule);
    return {
      remove: () => {
        this.rules = this.rules.filter((r) => r !== rule);
      },
      get hits() {
        return rule.hits;
      },
    };
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

  /** Removes every rule and the random mode. */
  clear(): void {
    this.rules = [];
    this.random = undefined;
  }

  /** The first rule (or the random mode) that applies to this request; consumes one of its `times`. */
  pick(method: string, path: string, query: string): PickedFault<Late> | undefined {
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
}

/** Whether a rule's method and path (see FaultRule) take this request. */
export function matches(rule: { method?: string; path?: string | RegExp }, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? path.startsWith(rule.path) : rule.path.test(path);
}
