import { createServer, type IncomingMessage, Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { awsChunkedBodies, completePuts, type ConditionalHeader, conditionalWrites, constantTimeDeletes, KoaMiddleware, requireSignedRequests, serverSideEncryption } from './s3-fixes.js';

export interface S3ServerOptions {
  /** 0 (default) picks a free port; stop()/start() keep it. */
  port?: number;
  /** Where objects live; default a fresh temporary folder, removed by close(). */
  directory?: string;
  buckets?: string[];
  silent?: boolean;
  /** Called for every request received (the benchmark counts S3 requests at the server with it). */
  onRequest?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** A real S3 HTTP server (s3rver plus the fixes in s3-fixes.ts) for tests and the local run. */
export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  /** s3rver's built-in account; any other access key id is refused with InvalidAccessKeyId. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** Stops listening (clients get ECONNREFUSED); data stays. */
  stop(): Promise<void>;
  /** Listens again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops, and removes the data folder if it was a temporary one. */
  close(): Promise<void>;
  createBucket(name: string): Promise<void>;
  /**
   * From now on, acts like an S3 that silently ignores these conditional headers (writes and deletes as if they were
   * absent, never 412), as S3-compatible stores exist that do; an empty list restores S3's behaviour. A test double
   * for the service's start-up check of conditional writes.
   */
  ignoreConditionalHeaders(headers: readonly ConditionalHeader[]): void;
}

// s3rver's built-in account; s3rver itself refuses other key ids.
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';

type Koa = { middleware: KoaMiddleware[]; callback(): Parameters<typeof createServer>[1]; store: { putBucket(name: string): Promise<unknown> }; configureBuckets(): Promise<unknown> };

/** Starts the server with the given buckets. */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const temporary = !opts.directory;
  const directory = opts.directory ?? mkdtempSync(join(tmpdir(), 's3-emulator-'));
  const s3rver = new S3rver({
    silent: opts.silent ?? true,
    directory,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name, configs: [] })),
    vhostBuckets: false,
  } as never) as unknown as Koa;
  // In front of s3rver's own stack, in this order: auth, body decoding, then the header semantics it lacks.
  const ignored = new Set<ConditionalHeader>();
  s3rver.middleware.unshift(requireSignedRequests(new Map([[ACCESS_KEY_ID, SECRET_ACCESS_KEY]])), awsChunkedBodies(), serverSideEncryption(), conditionalWrites(s3rver.store as never, ignored));
  constantTimeDeletes(s3rver.store as never);
  completePuts(s3rver.store as never);
  await s3rver.configureBuckets();

  const handler = s3rver.callback();
  let server: Server | undefined;
  let port = opts.port ?? 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const onRequest = opts.onRequest;
      const srv = createServer(onRequest ? (req, res) => (onRequest(req, res), handler?.(req, res)) : handler);
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        port = (srv.address() as { port: number }).port;
        server = srv;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      const srv = server;
      server = undefined;
      srv.close(() => resolve());
      srv.closeAllConnections(); // keep-alive sockets would otherwise keep "stopped" S3 answering
    });

  await listen();
  return {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    region: 'us-east-1',
    stop,
    start: () => (server ? Promise.resolve() : listen()),
    async close() {
      await stop();
      if (temporary) rmSync(directory, { recursive: true, force: true });
    },
    async createBucket(name: string) {
      await s3rver.store.putBucket(name);
    },
    ignoreConditionalHeaders(headers) {
      ignored.clear();
      for (const h of headers) ignored.add(h);
    },
  };
}
