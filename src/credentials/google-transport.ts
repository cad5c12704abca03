import { fetch as nodeHttpFetch } from '@whatwg-node/node-fetch';
import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { consumeBytes, DEFAULT_GOOGLE_MAX_ANSWER_BYTES, errorBodyAtMost, errorBodyLimit, readAtMost, withinStatedLength } from './google-answer-limit.js';
import { pooledFetch, pooledFetchTakes } from './pooled-fetch.js';
import { AgentDeadlines, DeadlineWindows } from './request-deadlines.js';

const CONSUMERS = ['text', 'json', 'arrayBuffer', 'blob', 'formData'] as const;

/**
 * The fetch under the googleapis clients (gaxios' `fetchImplementation`). A call on the clients' pool with its body
 * in memory, the warm path, goes to pooledFetch (pooled-fetch.ts: node:http itself, about 100 µs less CPU a call);
 * every other call (streamed uploads, Drive downloads with their own deadline, calls without an agent) to
 * @whatwg-node/node-fetch, a fetch on node:http, instead of gaxios' default node-fetch. Same agent, AbortSignal and
 * streams, and about 110 µs less CPU per call: node-fetch wraps every answer in stream.pipeline with its own
 * AbortController (npm run bench measured 200 against 80 µs per request on the same keep-alive agent; Node's own
 * fetch, undici, 250 µs).
 *
 * Redirects are never followed: the answer is the 3xx itself, which every caller treats as a failure. Google answers
 * its API, token and revocation calls in place; a redirect there comes from something between us and Google, and
 * following it would hand the user's access token (this library keeps every header, even across origins) or the
 * body of a revocation to whoever wrote the Location (test/e2e/google-redirects.e2e.spec.ts).
 *
 * One more correction, made here: its responses never set `bodyUsed`, and gaxios keeps an error answer's parsed body
 * only when `bodyUsed` is true; without it Google's error reason (insufficientPermissions, rateLimitExceeded) would
 * be lost and every 403 would read as a plain `forbidden` (test/e2e/workspace-google-errors.e2e.spec.ts).
 *
 * An answer read whole (text, json, arrayBuffer, blob, formData) may hold at most `maxAnswerBytes` once decoded
 * (google-answer-limit.ts says why): past that its read fails with GoogleAnswerTooLargeError and its socket is closed.
 * An uncompressed answer that states a length within the limit is read as the library reads it, at no extra cost.
 * The body of an error answer read as a stream (a Drive download's, which gaxios reads whole for Google's reason)
 * ends after errorBodyLimit(maxAnswerBytes) bytes, its socket closed; the body of a successful one is never bounded
 * (a download is as large as its file). Streamed calls always come here rather than to pooledFetch.
 */
export async function googleFetch(url: string | URL | Request, init?: RequestInit, maxAnswerBytes = DEFAULT_GOOGLE_MAX_ANSWER_BYTES): Promise<Response> {
  // gaxios passes the URL as a string and its options as init. The Google clients' options already say `manual`
  // (workspace/google-apis.ts): the copy is for other callers.
  const options = init?.redirect === 'manual' ? init : { ...init, redirect: 'manual' as const };
  if ((typeof url === 'string' || url instanceof URL) && pooledFetchTakes(options)) return pooledFetch(url, options, maxAnswerBytes);
  const answer = (await nodeHttpFetch(url as string, options as never)) as unknown as Response;
  const res = answer as unknown as Record<string, unknown>;
  // The library's own body, past the bounded one an error answer gets below.
  const rawBody = (): ReadableStream<Uint8Array> | null => Reflect.get(Object.getPrototypeOf(answer) as object, 'body', answer) as ReadableStream<Uint8Array> | null;
  const counted = !withinStatedLength(answer.headers, maxAnswerBytes);
  for (const name of CONSUMERS) {
    const consume = res[name] as (() => Promise<unknown>) | undefined;
    if (typeof consume !== 'function') continue;
    res[name] = () => {
      if (!counted) {
        res.bodyUsed = true;
        return consume.call(res);
      }
      const body = rawBody();
      res.bodyUsed = true;
      return readAtMost(body, maxAnswerBytes).then((bytes) => consumeBytes(name, bytes, answer.headers.get('content-type')));
    };
  }
  if (!answer.ok) {
    let bounded: ReadableStream<Uint8Array> | null | undefined;
    Object.defineProperty(answer, 'body', {
      configurable: true,
      get: () => {
        // Read: gaxios then keeps the text it made of it on the error, where Google's reason is found.
        res.bodyUsed = true;
        return bounded === undefined ? (bounded = errorBodyAtMost(rawBody(), errorBodyLimit(maxAnswerBytes))) : bounded;
      },
    });
  }
  return answer;
}

/** The keep-alive pool a GoogleDeadlines makes for the Google clients: node:https for Google, node:http for an emulator. */
export interface GooglePool {
  secure: boolean;
  options: AgentOptions;
}

/**
 * Deadlines for Google calls: each call is cancelled (request destroyed, socket closed) after at least `timeoutMs`
 * and at most `timeoutMs` + 20 ms, unless it brings a signal of its own (Drive downloads set a longer `timeout`).
 *
 * Calls on `agent` (the pool the googleapis clients are given) get the deadline from the agent itself
 * (AgentDeadlines): no signal per call, which node:http makes cost about 50 µs of CPU per request. A call with its
 * own signal moves to a second pool without the deadline. Any other call (another agent, or none) gets a signal
 * shared by the calls that start within 20 ms of each other: gaxios' own `timeout` option would create an
 * `AbortSignal.timeout` per call, 10% of the CPU of a warm Google call in Node 20 (npm run bench).
 */
export class GoogleDeadlines {
  /** The pool the clients are given: every request on it has the deadline. */
  readonly agent?: HttpAgent;
  private ownDeadlinePool?: HttpAgent;
  private readonly signals: DeadlineWindows<AbortController>;

  constructor(
    timeoutMs: number,
    private readonly pool?: GooglePool,
    private readonly maxAnswerBytes = DEFAULT_GOOGLE_MAX_ANSWER_BYTES,
  ) {
    this.signals = new DeadlineWindows(
      timeoutMs,
      () => {
        const controller = new AbortController();
        // Every call in flight listens to it; Node would warn about a leak above 10 listeners. Each request removes
        // its listener when it ends, and the controller is dropped once it has fired.
        setMaxListeners(0, controller.signal);
        return controller;
      },
      (controller, reason) => controller.abort(reason),
    );
    if (pool) {
      this.agent = this.newAgent();
      new AgentDeadlines(timeoutMs).watch(this.agent);
    }
  }

  /** The signal a call starting now is aborted by, with a TimeoutError, once its time is up. */
  signal(): AbortSignal {
    return this.signals.now().signal;
  }

  /** googleFetch with this deadline on every call that brings no signal of its own (gaxios' `timeout` option does). */
  fetch(): typeof googleFetch {
    return (url, init) => {
      const onPool = this.agent !== undefined && (init as { agent?: unknown } | undefined)?.agent === this.agent;
      if (init?.signal) return googleFetch(url, onPool ? ({ ...init, agent: this.ownDeadlineAgent() } as RequestInit) : init, this.maxAnswerBytes);
      return googleFetch(url, onPool ? init : { ...init, signal: this.signal() }, this.maxAnswerBytes);
    };
  }

  /** The pool for calls that bring their own deadline, made on the first such call (they are rare). */
  private ownDeadlineAgent(): HttpAgent {
    return (this.ownDeadlinePool ??= this.newAgent());
  }

  private newAgent(): HttpAgent {
    const pool = this.pool as GooglePool;
    return pool.secure ? new HttpsAgent(pool.options) : new HttpAgent(pool.options);
  }
}
