import { subscribe } from 'node:diagnostics_channel';
import type { Agent, ClientRequest } from 'node:http';

/** Requests started within this many ms of each other share one deadline timer. */
export const DEADLINE_SLACK_MS = 20;

/**
 * Groups deadlines into windows of DEADLINE_SLACK_MS: every deadline that starts within one window shares its
 * timer, which expires the window after `timeoutMs` + DEADLINE_SLACK_MS with a TimeoutError. A deadline is therefore
 * met after at least `timeoutMs` and at most 20 ms more, for one timer per 20 ms instead of one per call.
 */
export class DeadlineWindows<W> {
  private current?: { window: W; startedAt: number };

  constructor(
    private readonly timeoutMs: number,
    private readonly open: () => W,
    private readonly expire: (window: W, reason: DOMException) => void,
  ) {}

  /** The window a deadline starting now belongs to (a new one, with its timer, after DEADLINE_SLACK_MS). */
  now(): W {
    const now = performance.now();
    if (this.current && now - this.current.startedAt < DEADLINE_SLACK_MS) return this.current.window;
    const window = this.open();
    setTimeout(() => this.expire(window, new DOMException(`Google did not answer within ${this.timeoutMs} ms`, 'TimeoutError')), this.timeoutMs + DEADLINE_SLACK_MS).unref();
    this.current = { window, startedAt: now };
    return window;
  }
}

/** The agents whose requests have a deadline, and the deadlines they follow. */
const watched = new WeakMap<Agent, AgentDeadlines>();
let listening = false;

/**
 * Node publishes every client request it creates on this documented channel (the hook APM tools use). Written by
 * hand because no library does it: giving each request an AbortSignal instead costs node:http about 50 µs of CPU
 * per request with 32 in flight (it watches each request's end with `finished()` to drop its listener), a tenth of
 * a warm Workspace call (npm run bench, BENCHMARKS.md). A subscriber must not throw: Node would rethrow it as an
 * uncaught exception.
 */
function onRequestStart(message: unknown): void {
  const request = (message as { request?: ClientRequest & { agent?: Agent } } | undefined)?.request;
  const deadlines = request?.agent ? watched.get(request.agent) : undefined;
  deadlines?.track(request as ClientRequest);
}

/**
 * A deadline for every request of the agents it watches (DeadlineWindows): a request still open when its deadline
 * passes (no answer, or an answer that stalled) is destroyed with a TimeoutError, which closes its socket. One that
 * has ended (its `close`) is forgotten, so a kept-alive socket serves the next request untouched.
 */
export class AgentDeadlines {
  private readonly windows: DeadlineWindows<Set<ClientRequest>>;

  constructor(timeoutMs: number) {
    this.windows = new DeadlineWindows(
      timeoutMs,
      () => new Set<ClientRequest>(),
      (requests, reason) => {
        for (const request of requests) request.destroy(reason);
        requests.clear();
      },
    );
  }

  /** Gives every request `agent` carries from now on this deadline. */
  watch(agent: Agent): void {
    watched.set(agent, this);
    if (!listening) {
      subscribe('http.client.request.start', onRequestStart);
      listening = true;
    }
  }

  /** Starts `request`'s deadline now (called for each request of a watched agent). */
  track(request: ClientRequest): void {
    const requests = this.windows.now();
    requests.add(request);
    request.once('close', () => requests.delete(request));
  }
}
