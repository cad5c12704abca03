import type { Agent, ClientRequest, IncomingMessage } from 'node:http';

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

type AddRequest = (this: Agent, request: ClientRequest, options: unknown) => void;

/**
 * Ends `request` with `reason`, and its answer too when its head has come. Node's request.destroy() alone fails the
 * body being read with an ECONNRESET "aborted", which reads as Google resetting the connection: a read-only call is
 * then retried once (GoogleCaller), so a streamed answer that stalled or trickled past the deadline (a Drive file read
 * by get_drive_file_content) took two deadlines, and two requests to Google, instead of one. Destroyed first with the
 * TimeoutError, the answer fails with it (and closes the socket, so the request still fails with it too).
 * `request.res` is where node:http keeps the answer (set before 'response' is emitted).
 */
function cancel(request: ClientRequest, reason: Error): void {
  const answer = (request as ClientRequest & { res?: IncomingMessage | null }).res;
  if (answer && !answer.complete) answer.destroy(reason);
  request.destroy(reason);
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
        for (const request of requests) cancel(request, reason);
        requests.clear();
      },
    );
  }

  /**
   * Gives every request `agent` carries from now on this deadline, from the moment the request is created.
   *
   * Node's ClientRequest hands itself to its agent's `addRequest` in its constructor, for every request; proxy and
   * socks agents (agent-base) wrap the same method. Written by hand because no library does it: an AbortSignal per
   * request costs node:http about 50 µs of CPU with 32 in flight (it watches each request's end with `finished()`),
   * a tenth of a warm Workspace call (BENCHMARKS.md). The diagnostics channel `http.client.request.start` is no
   * substitute: Node 20 publishes it only once the whole body is flushed, so a streamed upload to a peer that stops
   * reading would never get a deadline (`http.client.request.created` arrives in Node 22). Uploads through the
   * service are at most 5 MB (Drive's multipart limit), so sending one is part of the call's GOOGLE_HTTP_TIMEOUT_MS.
   */
  watch(agent: Agent): void {
    const deadlines = this;
    const addRequest = (agent as Agent & { addRequest: AddRequest }).addRequest;
    (agent as Agent & { addRequest: AddRequest }).addRequest = function (this: Agent, request, options) {
      deadlines.track(request);
      return addRequest.call(this, request, options);
    };
  }

  /** Starts `request`'s deadline now (called for each request of a watched agent). */
  private track(request: ClientRequest): void {
    const requests = this.windows.now();
    requests.add(request);
    request.once('close', () => requests.delete(request));
  }
}
