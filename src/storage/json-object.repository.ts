import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Inject, Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { AppConfig } from '../config/app-config.js';
import { PROBE_KEY } from './probe-key.js';
import { S3_CLIENT } from './s3-client.provider.js';
import { withCallSignal } from './s3-call-signal.js';
import { StorageLatency } from './storage-latency.js';
import { StorageError, StorageOperation, toStorageError } from './storage.errors.js';

export interface StoredJson {
  value: unknown;
  /** The ETag as S3 returned it; pass it back as `ifMatch` to update only if nobody else wrote in between. */
  etag: string;
}

export interface PutCondition {
  /** Write only if the object still has this ETag (optimistic concurrency). */
  ifMatch?: string;
  /** Write only if no object exists at the key. */
  ifNoneMatch?: '*';
}

export interface ListPage {
  keys: string[];
  /** LastModified of each key, same order (S3 sets it when the object was written). */
  modified: Date[];
  nextToken?: string;
}

/**
 * The only class that talks to S3: JSON objects with ETags, every put encrypted (S3_SSE) and typed
 * application/json, conditional writes, idempotent deletes, paginated listing. SDK errors leave as StorageError.
 */
@Injectable()
export class JsonObjectRepository {
  private readonly bucket: string;
  private readonly sse: { ServerSideEncryption: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string };
  private readonly timeoutMs: number;

  constructor(
    @Inject(S3_CLIENT) private readonly s3: S3Client,
    private readonly latency: StorageLatency,
    config: AppConfig,
  ) {
    const { s3: c } = config.values;
    this.bucket = c.bucket;
    this.timeoutMs = c.timeoutMs;
    this.sse = c.sse === 'aws:kms' ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: c.kmsKeyId } : { ServerSideEncryption: 'AES256' };
  }

  /** Bucket name, for messages. */
  get bucketName(): string {
    return this.bucket;
  }

  /** Reads and parses one JSON object; undefined when it does not exist. */
  async get(key: string): Promise<StoredJson | undefined> {
    return this.read(key, false);
  }

  /**
   * Like get(), but an object whose content is not JSON comes back with `unreadable: true` (value undefined) and its
   * ETag instead of throwing `invalid_data`: for a writer that replaces the object whole anyway (a sign-in's new
   * grant), still conditionally on the version it read.
   */
  async getForReplace(key: string): Promise<(StoredJson & { unreadable?: true }) | undefined> {
    return this.read(key, true);
  }

  private async read(key: string, tolerateUnreadable: boolean): Promise<(StoredJson & { unreadable?: true }) | undefined> {
    return this.call('get', key, async (abortSignal) => {
      try {
        const out = await this.s3.send(withCallSignal(new GetObjectCommand({ Bucket: this.bucket, Key: key }), abortSignal));
        const text = (await out.Body?.transformToString('utf-8')) ?? '';
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          if (tolerateUnreadable) return { value: undefined, etag: out.ETag ?? '', unreadable: true as const };
          throw new StorageError('invalid_data', `The object at "${topSegment(key)}/…" in bucket "${this.bucket}" is not valid JSON. Delete or repair it.`);
        }
        return { value, etag: out.ETag ?? '' };
      } catch (err) {
        if (isMissingKey(err)) return undefined;
        throw err;
      }
    });
  }

  /** Writes one JSON object with SSE and content type; returns the new ETag. A lost condition throws `conflict`. */
  async put(key: string, value: unknown, condition: PutCondition = {}): Promise<string> {
    return this.call('put', key, async (abortSignal) => {
      this.assertEtag(condition.ifMatch);
      const command = new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(value),
        ContentType: 'application/json',
        ...this.sse,
        // Ceph RGW compares If-Match against the bare ETag and rejects the quoted form that GetObject returns;
        // AWS S3 and MinIO accept both, so the bare value works everywhere.
        IfMatch: condition.ifMatch ? unquote(condition.ifMatch) : undefined,
        IfNoneMatch: condition.ifNoneMatch,
      });
      const out = await this.s3.send(withCallSignal(command, abortSignal));
      return out.ETag ?? '';
    });
  }

  /**
   * Creates an object at a fresh key (a random id): create-only, so nothing existing is ever overwritten. When S3
   * applied an earlier attempt but its answer was lost, the SDK's retry meets the object it wrote itself (412): the
   * same content there means the create succeeded, not that someone else holds the key.
   */
  async create(key: string, value: unknown): Promise<void> {
    try {
      await this.put(key, value, { ifNoneMatch: '*' });
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'conflict')) throw err;
      const stored = await this.get(key);
      if (!stored || JSON.stringify(stored.value) !== JSON.stringify(value)) throw err;
    }
  }

  /** Writes a text object (audit JSON lines) with SSE; create-only. */
  async putText(key: string, body: string, contentType: string): Promise<void> {
    await this.call('put', key, (abortSignal) =>
      this.s3.send(withCallSignal(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ...this.sse, IfNoneMatch: '*' }), abortSignal)),
    );
  }

  /**
   * Deletes one object; deleting an object that is already gone succeeds. With `ifMatch`, only the version with
   * that ETag is deleted and a newer one makes it throw `conflict` (412), where the S3 implementation supports
   * conditional deletes (AWS S3 does; servers that ignore the header delete unconditionally, so callers that must
   * not delete a newer version also re-read and compare just before).
   */
  async delete(key: string, condition: { ifMatch?: string } = {}): Promise<void> {
    await this.call('delete', key, async (abortSignal) => {
      this.assertEtag(condition.ifMatch);
      try {
        await this.s3.send(withCallSignal(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: condition.ifMatch ? unquote(condition.ifMatch) : undefined }), abortSignal));
      } catch (err) {
        if ((err as { name?: string })?.name === 'NoSuchKey') return;
        throw err;
      }
    });
  }

  /** One page (up to 1000) of keys under a prefix; pass `nextToken` back for the next page. */
  async listPage(prefix: string, nextToken?: string, pageSize = 1000): Promise<ListPage> {
    return this.call('list', prefix, async (abortSignal) => {
      const out = await this.s3.send(
        withCallSignal(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: nextToken, MaxKeys: pageSize }), abortSignal),
      );
      const contents = (out.Contents ?? []).filter((o) => o.Key);
      return {
        keys: contents.map((o) => o.Key as string),
        modified: contents.map((o) => o.LastModified ?? new Date(0)),
        nextToken: out.IsTruncated ? out.NextContinuationToken : undefined,
      };
    });
  }

  /** Every key under a prefix, page by page. */
  async *listAll(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.listPage(prefix, token);
      yield* page.keys;
      token = page.nextToken;
    } while (token);
  }

  /**
   * Checks that the bucket is reachable and ours to use; returns the round trip in ms. A GET of a key the service
   * never writes (PROBE_KEY), answered 404 NoSuchKey: it needs the two permissions every request needs
   * (s3:GetObject, and s3:ListBucket for S3 to say "no such key" instead of 403), costs the same on any bucket size
   * (a one-key LIST made the S3 test server walk every stored key, and AWS prices a LIST like a PUT, 12.5× a GET,
   * for a probe every replica sends every few seconds), and its error body tells NoSuchBucket from AccessDenied
   * from InvalidAccessKeyId, which HeadBucket's empty answer cannot.
   */
  async ping(): Promise<number> {
    const started = performance.now();
    await this.call('probe', PROBE_KEY, async (abortSignal) => {
      try {
        const out = await this.s3.send(withCallSignal(new GetObjectCommand({ Bucket: this.bucket, Key: PROBE_KEY }), abortSignal));
        // Someone wrote the key after all: S3 answered, which is all the probe asks; the body is read to free the socket.
        await out.Body?.transformToString();
      } catch (err) {
        if (!isMissingKey(err)) throw err;
      }
    });
    return performance.now() - started;
  }

  /** Every key under a prefix with its LastModified, page by page. */
  async *listAllWithDates(prefix: string): AsyncGenerator<{ key: string; modified: Date }> {
    let token: string | undefined;
    do {
      const page = await this.listPage(prefix, token);
      for (let i = 0; i < page.keys.length; i++) yield { key: page.keys[i], modified: page.modified[i] };
      token = page.nextToken;
    } while (token);
  }

  /**
   * An `ifMatch` must be an ETag: an empty one (a read whose answer lost its ETag header, say through a proxy) would
   * send the write or delete without its condition, over a rotated refresh token another replica wrote meanwhile.
   */
  private assertEtag(ifMatch: string | undefined): void {
    if (ifMatch !== undefined && !unquote(ifMatch)) {
      throw new StorageError('unknown', `S3 answered a read in bucket "${this.bucket}" without an ETag, which conditional writes need. Check S3_ENDPOINT and any proxy in between.`);
    }
  }

  /**
   * Runs one S3 operation (SDK attempts and reading the body included) within S3_TIMEOUT_MS: the abort signal
   * cancels the HTTP request (withCallSignal carries it to the socket), and the race guarantees the caller is
   * answered even if something below ignores it.
   */
  private async call<T>(op: StorageOperation, key: string, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const started = performance.now();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = Object.assign(new Error(`S3 ${op} exceeded ${this.timeoutMs} ms`), { name: 'TimeoutError' });
        abort.abort(err);
        reject(err);
      }, this.timeoutMs);
    });
    try {
      const result = await Promise.race([fn(abort.signal), deadline]);
      this.latency.record(op, performance.now() - started, 'ok', topSegment(key));
      return result;
    } catch (err) {
      const mapped = toStorageError(err, op, this.bucket, this.timeoutMs);
      this.latency.record(op, performance.now() - started, mapped.code, topSegment(key), mapped.detail);
      throw mapped;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * S3 saying the key does not exist. Only its NoSuchKey error: a 404 without it (an HTML or empty body, which the SDK
 * names NotFound) came from something that is not the bucket (a wrong S3_ENDPOINT, a gateway or proxy), and taken
 * as "missing" it made readiness pass and every stored session and credential read as gone.
 */
function isMissingKey(err: unknown): boolean {
  return (err as { name?: string })?.name === 'NoSuchKey';
}

function unquote(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function topSegment(key: string): string {
  const i = key.indexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}
