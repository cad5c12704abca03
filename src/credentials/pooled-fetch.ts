/*
 * The warm path of every Workspace call: a request on the Google clients' keep-alive pool, with its body in memory,
 * answered as a fetch Response that gaxios reads whole. Written by hand because no fetch library does only this:
 * @whatwg-node/node-fetch (the transport for everything else, google-transport.ts) builds its own Request, Headers
 * and Response per call and pipes every answer through a PassThrough, about 100 µs of CPU a call over node:http
 * itself, a third of the googleapis client's cost (BENCHMARKS.md, "The Google client stack"); Node's own fetch
 * (undici) costs more and cannot use the pool. What this does not take (streamed bodies, calls with a signal of their
 * own such as Drive downloads, answers asked for as a stream) stays on the library.
 */
import { IncomingMessage, request as httpRequest, type Agent, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline, Readable } from 'node:stream';
import zlib from 'node:zlib';
import { consumeBytes, errorBodyAtMost, errorBodyLimit, GoogleAnswerTooLargeError, type BodyConsumer } from './google-answer-limit.js';

/** What a call brings that pooledFetch can take: fetch's init as gaxios passes it (its options ride along). */
export interface PooledInit {
  method?: string;
  /** A Headers (as gaxios gives it), pairs, or a plain record. */
  headers?: unknown;
  body?: unknown;
  agent?: unknown;
  signal?: unknown;
  responseType?: unknown;
}

/** Whether pooledFetch takes this call: on a pool, no signal of its own, a body already in memory, the answer read whole. */
export function pooledFetchTakes(given: unknown): given is PooledInit & { agent: Agent } {
  const init = given as PooledInit | undefined;
  if (!init || !init.agent || init.signal || init.responseType === 'stream') return false;
  const body = init.body;
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
}

/**
 * A fetch on node:http for a call pooledFetchTakes: sends it on its agent and answers a Response whose body, read
 * whole, holds at most `maxAnswerBytes` decoded (GoogleAnswerTooLargeError past it, with the socket closed).
 * Redirects are answered as they come, never followed.
 */
export function pooledFetch(url: string | URL, init: PooledInit & { agent: Agent }, maxAnswerBytes: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    const target = typeof url === 'string' ? url : url.href;
    const send = target.startsWith('https:') ? httpsRequest : httpRequest;
    const method = init.method ?? 'GET';
    const headers = plainHeaders(init.headers);
    const options = requestOptions(target, method, headers, init.agent);
    const request = options ? send(options) : send(target, { method, headers, agent: init.agent });
    const answer: { failure?: Error } = {};
    request.on('error', (err) => {
      // After the answer's head this is why its body broke off: the deadline's TimeoutError (the request destroyed
      // with it, AgentDeadlines) rather than the "aborted" reset the body itself reports, which reads would retry.
      answer.failure ??= err;
      reject(err);
    });
    request.once('response', (res) => {
      // A body nobody reads still fails when its connection does; without a listener that would end the process.
      res.on('error', () => undefined);
      // An answer without a body is never read by gaxios (a 204): let it end, so its socket goes back to the pool.
      const bodiless = method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
      if (bodiless) res.resume();
      resolve(new PooledAnswer(res, target, maxAnswerBytes, answer, bodiless) as unknown as Response);
    });
    request.end(init.body ?? undefined);
  });
}

/**
 * node:http's options for a call to `target`: what node:http makes of a URL string (urlToHttpOptions: the same WHATWG
 * parse, the same hostname, port and path), in a smaller object. Why: from a string node:http builds its options by
 * spreading the URL and then adding its parts one by one, which on Node 20 takes V8's slow path, and copies them all
 * twice more (into the request's own options, then the agent's merge of its own): about 3 µs of CPU a call (a whole
 * pooled call, client and a local server in one process, 32 in flight: 72.5 against 75.6 µs at the median of 10
 * alternating rounds; BENCHMARKS.md, 2026-12-07). Undefined for a URL with credentials in it (never Google's): that
 * one goes as the string, as before.
 */
function requestOptions(target: string, method: string, headers: Record<string, string>, agent: Agent): RequestOptions | undefined {
  const url = new URL(target);
  if (url.username || url.password) return undefined;
  const { hostname, port } = url;
  return {
    protocol: url.protocol,
    hostname: hostname.startsWith('[') ? hostname.slice(1, -1) : hostname,
    port: port === '' ? undefined : Number(port), // undefined: the scheme's own, as node:http does
    path: `${url.pathname}${url.search}`,
    method,
    headers,
    agent,
  };
}

function plainHeaders(headers: unknown): Record<string, string> {
  const plain: Record<string, string> = {};
  if (!headers || typeof headers !== 'object') return plain;
  const pairs = Symbol.iterator in headers ? (headers as Iterable<[string, string]>) : Object.entries(headers as Record<string, string>);
  for (const [name, value] of pairs) plain[name] = value;
  return plain;
}

/** The Response of a pooled call: what gaxios and the service read of one (status, headers, the body read once). */
class PooledAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly redirected = false;
  readonly type = 'basic';
  bodyUsed = false;
  private headerList?: Headers;

  constructor(
    private readonly res: IncomingMessage,
    readonly url: string,
    private readonly maxAnswerBytes: number,
    private readonly exchange: { failure?: Error },
    /** HEAD, 204 or 304: no body, and the empty one has been let run out (see pooledFetch). */
    private readonly bodiless: boolean,
  ) {
    this.status = res.statusCode ?? 0;
    this.statusText = res.statusMessage ?? '';
    this.ok = this.status >= 200 && this.status < 300;
  }

  /** fetch's Headers, built when first read (from the raw lines: repeated names join as fetch joins them). */
  get headers(): Headers {
    if (this.headerList) return this.headerList;
    const headers = new Headers();
    const raw = this.res.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    return (this.headerList = headers);
  }

  /**
   * The decoded body as a web stream: not bounded when the answer is a success (the caller reads it as it comes), cut
   * after errorBodyLimit bytes when it is an error (googleFetch does the same, google-answer-limit.ts says why).
   */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.bodyUsed) return null;
    this.bodyUsed = true;
    const broken = this.brokenOff();
    if (broken) return new ReadableStream({ start: (controller) => controller.error(broken) });
    if (this.bodiless) return new ReadableStream({ start: (controller) => controller.close() });
    const body = Readable.toWeb(this.decoded()) as ReadableStream<Uint8Array>;
    return this.ok ? body : errorBodyAtMost(body, errorBodyLimit(this.maxAnswerBytes));
  }

  text(): Promise<unknown> {
    return this.consume('text');
  }

  json(): Promise<unknown> {
    return this.consume('json');
  }

  arrayBuffer(): Promise<unknown> {
    return this.consume('arrayBuffer');
  }

  blob(): Promise<unknown> {
    return this.consume('blob');
  }

  formData(): Promise<unknown> {
    return this.consume('formData');
  }

  private consume(name: BodyConsumer): Promise<unknown> {
    if (this.bodyUsed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    this.bodyUsed = true;
    const broken = this.brokenOff();
    if (broken) return Promise.reject(broken);
    // A body already let run out emits no second end: it is read as empty.
    if (this.bodiless) return Promise.resolve(consumeBytes(name, Buffer.alloc(0), this.res.headers['content-type'] ?? null));
    return collectAtMost(this.res, this.decoded(), this.maxAnswerBytes).catch((err: unknown) => {
      throw this.exchange.failure ?? err;
    }).then((bytes) => consumeBytes(name, bytes, this.res.headers['content-type'] ?? null));
  }

  /**
   * Why the answer ended before its body was read, if it did (the deadline destroyed the call first): a destroyed
   * stream never ends, so reading it then would wait for good. The deadline comes first: destroying a request
   * drains a body that had fully arrived unread, which would otherwise read as an empty 200. Any other failure of
   * the connection after a whole answer (Google answering an upload early, then resetting) leaves the answer as it
   * came.
   */
  private brokenOff(): Error | undefined {
    const failure = this.exchange.failure;
    if (failure?.name === 'TimeoutError') return failure;
    if (!this.res.destroyed || this.res.readableEnded) return undefined;
    return failure ?? this.res.errored ?? new Error('aborted');
  }

  /** The body as fetch decodes it (Content-Encoding gzip, deflate or br undone; anything else as it came). */
  private decoded(): Readable {
    const decoder = decoderFor(this.res.headers['content-encoding']);
    if (!decoder) return this.res;
    return pipeline(this.res, decoder, () => undefined);
  }
}

function decoderFor(encoding: string | undefined): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
    case 'x-deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

/**
 * The stream's bytes; past `limit` rejects with GoogleAnswerTooLargeError and closes the answer's socket (its rest unread).
 * readAtMost's twin for a node stream: handing it the web stream instead would put Readable.toWeb on every warm call.
 */
function collectAtMost(res: IncomingMessage, stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      stream.removeAllListeners('data');
      res.destroy();
      if (stream !== res) stream.destroy();
      reject(new GoogleAnswerTooLargeError(limit));
    });
    stream.once('end', () => resolve(Buffer.concat(chunks, size)));
    stream.once('error', reject);
  });
}
