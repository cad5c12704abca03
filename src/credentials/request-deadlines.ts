import { subscribe } from 'node:diagnostics_channel';
import type { Agent, ClientRequest } from 'node:http';

/** Requests started within this many ms of each other share one deadline timer. */
export const DEADLINE_SLACK_MS = 20;

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
 * A deadline for every request of the agents it watches, with one timer per DEADLINE_SLACK_MS: a request still open
 * when its deadline passes (no answer, or an answer that stalled) is destroyed with a TimeoutError, which closes its
 * socket. Each request is destroyed after at least `timeoutMs` and at most `timeoutMs` + DEADLINE_SLACK_MS; one that
 * has ended (its `close`) is forgotten, so a kept-alive socket serves the next request untouched.
 */
export class AgentDeadlines {
  private current?: { requests: Set<ClientRequest>; startedAt: number };

  constructor(private readonly timeoutMs: number) {}

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
    const now = performance.now();
    if (!this.current || now - this.current.startedAt >= DEADLINE_SLACK_MS) this.current = this.window(now);
    const { requests } = this.current;
    requests.add(request);
    request.once('close', () => requests.delete(request));
  }

  /** A new set of requests whose deadlines pass together, with its timer. */
  private window(startedAt: number): { requests: Set<ClientRequest>; startedAt: number } {
    const requests = new Set<ClientRequest>();
    setTimeout(() => {
      const reason = new DOMException(`Google did not answer within ${this.timeoutMs} ms`, 'TimeoutError');
      for (const request of requests) request.destroy(reason);
      requests.clear();
    }, this.timeoutMs + DEADLINE_SLACK_MS).unref();
    return { requests, startedAt };
  }
}
