import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rmdir, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import { verifySigV4 } from './sigv4.js';

// s3rver is CommonJS; its error type renders S3's XML error bodies, so our fixes answer exactly like it does.
const require = createRequire(import.meta.url);
const S3Error = require('s3rver/lib/models/error.js') as new (code: string, message: string, detail?: Record<string, string>) => Error;

/** The part of a Koa context the fixes use. */
export interface KoaContext {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  req: IncomingMessage | Readable;
  status: number;
  body?: unknown;
  set(name: string, value: string): void;
  response: { get(name: string): string; remove(name: string): void };
}
type Next = () => Promise<unknown>;
export type KoaMiddleware = (ctx: KoaContext, next: Next) => Promise<unknown>;

interface Store {
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  existsObject(bucket: string, key: string): Promise<boolean>;
}

const SSE_META = 'x-amz-meta-x-emulator-sse';
const SSE_KMS_META = 'x-amz-meta-x-emulator-sse-kms-key-id';

/** Splits a path-style request path into bucket and key (undefined for bucket-level requests). */
function target(path: string): { bucket: string; key?: string } {
  const [, bucket = '', ...rest] = path.split('/');
  const key = rest.length ? rest.map(decodeURIComponent).join('/') : undefined;
  return { bucket: decodeURIComponent(bucket), key: key || undefined };
}

const unquote = (etag: string) => etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
const header = (ctx: KoaContext, name: string) => {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The conditional request headers an S3 implementation may honour or, some of them, silently ignore. */
export type ConditionalHeader = 'if-match' | 'if-none-match';

/**
 * Fix 1: s3rver ignores If-Match / If-None-Match on PutObject and If-Match on DeleteObject, and overwrites or
 * deletes. S3 answers 412 PreconditionFailed (and 404 NoSuchKey for If-Match on a missing key). Every request on one key also runs under a per-key lock:
 * S3 replaces objects atomically, while s3rver writes the file in place, so an unlocked read racing a write could
 * see half an object, and two racing conditional writes could both win. The headers named in `ignored` (a set the
 * caller may change later) are dropped unread instead: a test double of an S3 that ignores them (SeaweedFS before
 * 3.96, some gateways), for the service's start-up check of conditional writes.
 */
export function conditionalWrites(store: Store, ignored: ReadonlySet<ConditionalHeader> = new Set()): KoaMiddleware {
  const locks = new Map<string, Promise<unknown>>();
  return async (ctx, next) => {
    const { bucket, key } = target(ctx.path);
    if (!key) return next();
    // Dropped after the signature was verified (requireSignedRequests runs first): s3rver then overwrites or deletes
    // regardless, as an S3 that ignores the header does.
    for (const name of ignored) delete ctx.headers[name];
    const id = `${bucket}/${key}`;
    const previous = locks.get(id) ?? Promise.resolve();
    const run = previous.then(async () => {
      if (ctx.method === 'PUT' || ctx.method === 'DELETE') await checkPreconditions(ctx, store, bucket, key);
      await next();
      // Koa streams the body after the middleware returns; read it while the lock is held.
      const body = ctx.body as Readable | undefined;
      if (ctx.method === 'GET' && body && typeof body.pipe === 'function') ctx.body = await readAll(body);
    });
    const settled = run.catch(() => undefined);
    locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (locks.get(id) === settled) locks.delete(id);
    }
  };
}

async function checkPreconditions(ctx: KoaContext, store: Store, bucket: string, key: string): Promise<void> {
  const ifMatch = header(ctx, 'if-match');
  const ifNoneMatch = header(ctx, 'if-none-match');
  if (!ifMatch && !ifNoneMatch) return;
  const exists = await store.existsObject(bucket, key).catch(() => false);
  if (ifNoneMatch === '*' && exists) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
  }
  if (ifMatch) {
    if (!exists) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    const current = unquote((await store.getMetadata(bucket, key)).etag ?? '');
    if (ifMatch !== '*' && unquote(ifMatch) !== current) {
      throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
    }
  }
  delete ctx.headers['if-match'];
  delete ctx.headers['if-none-match'];
}

/**
 * Fix 2: s3rver drops `x-amz-server-side-encryption`. It is stored as hidden user metadata on PUT and given back
 * as the SSE headers on PUT, GET and HEAD responses, as S3 does.
 */
export function serverSideEncryption(): KoaMiddleware {
  return async (ctx, next) => {
    const sse = header(ctx, 'x-amz-server-side-encryption');
    const kmsKey = header(ctx, 'x-amz-server-side-encryption-aws-kms-key-id');
    const { key } = target(ctx.path);
    if (ctx.method === 'PUT' && key && sse) {
      if (sse !== 'AES256' && sse !== 'aws:kms') {
        throw new S3Error('InvalidArgument', 'The encryption method specified is not supported', { ArgumentName: 'x-amz-server-side-encryption' });
      }
      ctx.headers[SSE_META] = sse;
      if (kmsKey) ctx.headers[SSE_KMS_META] = kmsKey;
    }
    await next();
    if (!key) return;
    const stored = ctx.method === 'PUT' ? sse : ctx.response.get(SSE_META);
    const storedKms = ctx.method === 'PUT' ? kmsKey : ctx.response.get(SSE_KMS_META);
    ctx.response.remove(SSE_META);
    ctx.response.remove(SSE_KMS_META);
    if (stored && ctx.status < 300) {
      ctx.set('x-amz-server-side-encryption', stored);
      if (storedKms) ctx.set('x-amz-server-side-encryption-aws-kms-key-id', storedKms);
    }
  };
}

/**
 * Fix 3: s3rver stores an aws-chunked body (SigV4 streaming, or a trailing checksum) with its framing. The body is
 * decoded here into the plain payload, and the framing headers are removed before s3rver sees the request.
 */
export function awsChunkedBodies(): KoaMiddleware {
  return async (ctx, next) => {
    const encoding = header(ctx, 'content-encoding') ?? '';
    const sha = header(ctx, 'x-amz-content-sha256') ?? '';
    const chunked = encoding.split(',').map((s) => s.trim()).includes('aws-chunked') || sha.startsWith('STREAMING-');
    if (ctx.method !== 'PUT' || !chunked) return next();
    const framed = await readAll(ctx.req);
    const payload = decodeAwsChunked(framed);
    const remaining = encoding.split(',').map((s) => s.trim()).filter((e) => e && e !== 'aws-chunked');
    if (remaining.length) ctx.headers['content-encoding'] = remaining.join(', ');
    else delete ctx.headers['content-encoding'];
    ctx.headers['content-length'] = String(payload.length);
    delete ctx.headers['x-amz-decoded-content-length'];
    delete ctx.headers['x-amz-trailer'];
    ctx.req = Readable.from([payload]);
    return next();
  };
}

/** Decodes `hex-size[;chunk-signature=...]\r\n<bytes>\r\n ... 0[;...]\r\n[trailers]\r\n`. */
export function decodeAwsChunked(framed: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = framed.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new S3Error('IncompleteBody', 'The request body is not valid aws-chunked encoding');
    const size = parseInt(framed.subarray(offset, lineEnd).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) throw new S3Error('IncompleteBody', 'The request body is not valid aws-chunked encoding');
    offset = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts); // what follows are trailers (checksums), not payload
    parts.push(framed.subarray(offset, offset + size));
    offset += size + 2;
  }
}

function readAll(stream: Readable | IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/**
 * s3rver serves anonymous requests and does not verify SigV4 signatures; S3 does both. Unsigned requests get 403
 * AccessDenied, unknown keys InvalidAccessKeyId, a wrong secret SignatureDoesNotMatch. (Presigned URLs, which the
 * service never uses, are left to s3rver.)
 */
export function requireSignedRequests(secrets: ReadonlyMap<string, string>): KoaMiddleware {
  return async (ctx, next) => {
    const url = String((ctx as { url?: string }).url ?? '');
    if (/[?&]X-Amz-Algorithm=/i.test(url)) return next();
    if (!header(ctx, 'authorization')) throw new S3Error('AccessDenied', 'Access Denied');
    const result = verifySigV4({ method: ctx.method, url, headers: ctx.headers }, secrets);
    if (!result.ok) throw new S3Error(result.code, result.message);
    return next();
  };
}

/** An object as s3rver's controllers hand it to the store. */
interface StoredObject {
  bucket: string;
  key: string;
  content: Readable | Buffer;
  metadata: Record<string, string>;
}

/** The part of s3rver's FilesystemStore that constantTimeDeletes and completePuts replace. */
interface FilesystemStore {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string, resource: string): string;
  deleteObject(bucket: string, key: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
}

/**
 * Fix 5: after a delete, s3rver removes the folders left empty by reading each parent folder whole (readdirSync),
 * O(objects in the folder) per delete, blocking the server: with 100,000 sessions under sessions/ a logout took most
 * of a second (npm run bench, session churn). rmdir refuses a folder that is not empty, so trying it is the same
 * check in constant time. Same files removed, same folders left.
 */
export function constantTimeDeletes(store: FilesystemStore): void {
  store.deleteObject = async (bucket, key) => {
    await Promise.all(
      ['object', 'object.md5', 'metadata.json'].map((resource) =>
        unlink(store.getResourcePath(bucket, key, resource)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        }),
      ),
    );
    const parts = key.split('/');
    parts.pop(); // the last part is the object's own name, not a folder
    for (; parts.length > 0; parts.pop()) {
      try {
        await rmdir(join(store.getBucketPath(bucket), ...parts));
      } catch {
        return; // not empty (or already gone): the folders above are not empty either
      }
    }
  };
}

/**
 * Fix 6: s3rver's putObject returns once its hashing step has seen the body, not once the file holds it: the PUT is
 * answered and the key's lock (fix 1) released while the object file may still be opened and truncated but not yet
 * written, so a GET sent after the PUT's answer could read an empty or partial object (seen as an empty credentials
 * object in refresh-write-merge.e2e on a loaded machine). And a body cut off mid-way left the old object truncated
 * and the PUT, and with it the key's lock, pending for ever. Here the body goes to a file beside the object and
 * replaces it by rename only once all of it is written, as S3 replaces objects only with a whole new one; a body that
 * fails leaves the old object and ends the request.
 */
export function completePuts(store: FilesystemStore): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    // Beside the object, so the rename stays on one file system; s3rver lists only names ending in `._S3rver_object`.
    const partial = store.getResourcePath(object.bucket, object.key, `partial-${randomUUID()}`);
    await mkdir(dirname(objectPath), { recursive: true });
    const md5 = createHash('md5');
    let size = 0;
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        content,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            md5.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(partial),
      );
      await rename(partial, objectPath);
    } catch (err) {
      await unlink(partial).catch(() => undefined);
      throw err;
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}
