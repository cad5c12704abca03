import 'reflect-metadata';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { AppConfigModule } from '../../src/config/config.module.js';
import { ConditionalWritesCheck } from '../../src/storage/conditional-writes.check.js';
import { JsonObjectRepository } from '../../src/storage/json-object.repository.js';
import { S3_CLIENT } from '../../src/storage/s3-client.provider.js';
import { StorageError } from '../../src/storage/storage.errors.js';
import { ObservabilityModule } from '../../src/observability/observability.module.js';
import { StorageModule } from '../../src/storage/storage.module.js';
import { externalS3, openS3Target, S3Target } from '../support/s3-target.js';
import { CredentialsRepository } from '../../src/credentials/credentials.repository.js';
import { FaultProxy } from '../support/fault-proxy.js';

/**
 * The storage module's contract with S3, run against the embedded server in `npm test` and against any endpoint
 * (`npm run test:s3-contract` with S3_TEST_ENDPOINT ...), e.g. Ceph's RADOS Gateway in CI.
 */
describe(`storage contract (${process.env.S3_TEST_ENDPOINT ?? 'embedded S3 server'})`, () => {
  let target: S3Target;
  let bucket: string;
  let app: INestApplicationContext;
  let sut: JsonObjectRepository;
  const sentSse: Array<{ key: string; sse?: string; kmsKeyId?: string }> = [];

  async function repositoryFor(overrides: Record<string, string | undefined>): Promise<{ repo: JsonObjectRepository; ctx: INestApplicationContext; close(): Promise<void> }> {
    const ref = await Test.createTestingModule({
      imports: [
        AppConfigModule.forRoot({
          GOOGLE_CLIENT_ID: 'unused',
          GOOGLE_CLIENT_SECRET: 'unused',
          JWT_SECRET: 'x'.repeat(32),
          S3_BUCKET: bucket,
          S3_ENDPOINT: target.endpoint,
          S3_FORCE_PATH_STYLE: 'true',
          AWS_REGION: target.region,
          AWS_ACCESS_KEY_ID: target.accessKeyId,
          AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
          S3_SSE: target.sse,
          S3_SSE_KMS_KEY_ID: target.kmsKeyId,
          S3_TIMEOUT_MS: '10000',
          ...overrides,
        }),
        ObservabilityModule,
        StorageModule,
      ],
      providers: [CredentialsRepository],
    }).compile();
    const ctx = await ref.init();
    return { repo: ctx.get(JsonObjectRepository), ctx, close: () => ctx.close() };
  }

  beforeAll(async () => {
    target = await openS3Target();
    bucket = await target.createBucket('contract');
    ({ ctx: app, repo: sut } = await repositoryFor({}));
    // Record what every PutObject asked for, as it leaves the client: some servers (RGW) do not echo SSE headers.
    app.get<S3Client>(S3_CLIENT).middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string; ServerSideEncryption?: string; SSEKMSKeyId?: string };
        const headers = (args.request as { headers?: Record<string, string> } | undefined)?.headers ?? {};
        if ('Body' in (args.input as object)) sentSse.push({ key: input.Key ?? '', sse: headers['x-amz-server-side-encryption'], kmsKeyId: headers['x-amz-server-side-encryption-aws-kms-key-id'] });
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordSse' },
    );
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await target?.close();
  });

  it('puts, gets and deletes JSON objects; get of a missing key is undefined; delete is idempotent', async () => {
    const etag = await sut.put('things/a.json', { hello: 'world', n: 1 });
    expect(etag).toMatch(/\w{8,}/);
    expect(await sut.get('things/a.json')).toEqual({ value: { hello: 'world', n: 1 }, etag });
    expect(await sut.get('things/missing.json')).toBeUndefined();
    await sut.delete('things/a.json');
    expect(await sut.get('things/a.json')).toBeUndefined();
    await sut.delete('things/a.json');
    await sut.delete('things/never-existed.json');
  });

  it('requests server-side encryption and application/json on every put', async () => {
    sentSse.length = 0;
    await sut.put('sse/one.json', { a: 1 });
    await sut.put('sse/one.json', { a: 2 }, { ifMatch: (await sut.get('sse/one.json'))?.etag });
    await sut.put('sse/two.json', { b: 1 }, { ifNoneMatch: '*' });
    expect(sentSse).toHaveLength(3);
    for (const sent of sentSse) {
      expect(sent.sse).toBe(target.sse);
      if (target.sse === 'aws:kms') expect(sent.kmsKeyId).toBe(target.kmsKeyId);
    }
    const head = await target.client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'sse/one.json' }));
    expect(head.ContentType).toBe('application/json');
    if (head.ServerSideEncryption !== undefined) expect(head.ServerSideEncryption).toBe(target.sse);
  });

  it('creates with If-None-Match and answers "conflict" when the object exists', async () => {
    await sut.put('cond/create.json', { v: 1 }, { ifNoneMatch: '*' });
    const second = sut.put('cond/create.json', { v: 2 }, { ifNoneMatch: '*' });
    await expect(second).rejects.toBeInstanceOf(StorageError);
    await expect(second).rejects.toMatchObject({ code: 'conflict' });
    expect((await sut.get('cond/create.json'))?.value).toEqual({ v: 1 });
  });

  it('updates with If-Match on the ETag read (quoted, as GetObject returns it) and answers "conflict" on a stale one', async () => {
    await sut.put('cond/update.json', { v: 1 });
    const read = await sut.get('cond/update.json');
    expect(read?.etag.startsWith('"')).toBe(true);
    await sut.put('cond/update.json', { v: 2 }, { ifMatch: read?.etag });
    await expect(sut.put('cond/update.json', { v: 3 }, { ifMatch: read?.etag })).rejects.toMatchObject({ code: 'conflict' });
    expect((await sut.get('cond/update.json'))?.value).toEqual({ v: 2 });
  });

  it('refuses a write with If-Match on an ETag the object never had with "conflict" (what the start-up check tries)', async () => {
    await sut.put('cond/foreign-etag.json', { v: 1 });
    await expect(sut.put('cond/foreign-etag.json', { v: 2 }, { ifMatch: '"00000000000000000000000000000000"' })).rejects.toMatchObject({ code: 'conflict' });
    expect((await sut.get('cond/foreign-etag.json'))?.value).toEqual({ v: 1 });
  });

  it('passes the start-up check that S3 honours conditional writes, twice at once, and the check leaves no object behind', async () => {
    const other = await repositoryFor({});
    try {
      await Promise.all([app.get(ConditionalWritesCheck).verify(), other.ctx.get(ConditionalWritesCheck).verify()]);
      expect(app.get(ConditionalWritesCheck).verified).toBe(true);
      const left = await target.client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'health/conditional-writes/' }));
      expect(left.Contents ?? []).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('deletes with If-Match on the current ETag, and refuses a stale one with "conflict" where the server supports it', async () => {
    const first = await sut.put('cond/delete.json', { v: 1 });
    await sut.put('cond/delete.json', { v: 2 }, { ifMatch: first });
    const stale = await sut.delete('cond/delete.json', { ifMatch: first }).then(() => 'deleted', (err: unknown) => err);
    if (stale === 'deleted') {
      // A server that ignores If-Match on DeleteObject (Ceph RGW before conditional deletes) deletes anyway; the
      // embedded server, like AWS S3, must not. Callers that must not delete a newer version re-read and compare
      // first (next test), which is what still holds here.
      expect(externalS3).toBe(true);
      expect(await sut.get('cond/delete.json')).toBeUndefined();
      process.stdout.write(`${process.env.S3_TEST_ENDPOINT}: If-Match on DeleteObject is ignored; the re-read-and-compare fallback applies\n`);
    } else {
      expect(stale).toMatchObject({ code: 'conflict' });
      expect((await sut.get('cond/delete.json'))?.value).toEqual({ v: 2 });
      const current = await sut.get('cond/delete.json');
      await sut.delete('cond/delete.json', { ifMatch: current?.etag });
      expect(await sut.get('cond/delete.json')).toBeUndefined();
    }
    await sut.delete('cond/delete.json', { ifMatch: first }); // already gone: fine, as without a condition
  });

  it('deletes credentials for a refused refresh token only while S3 still holds that token', async () => {
    const repo = app.get(CredentialsRepository);
    const email = 'contract-dead-grant@example.com';
    await repo.save(email, { token: 'at', refreshToken: 'rt-new', tokenUri: 'https://oauth2.googleapis.com/token', clientId: 'c', scopes: ['openid'] });
    expect(await repo.deleteIfRefreshTokenIs(email, 'rt-refused')).toMatchObject({ outcome: 'changed', stored: { refreshToken: 'rt-new' } });
    expect((await repo.findByEmail(email))?.refreshToken).toBe('rt-new');
    expect(await repo.deleteIfRefreshTokenIs(email, 'rt-new')).toEqual({ outcome: 'deleted' });
    expect(await repo.findByEmail(email)).toBeUndefined();
    expect(await repo.deleteIfRefreshTokenIs(email, 'rt-new')).toEqual({ outcome: 'gone' });
  });

  it('lists more than 1000 keys page by page', async () => {
    const keys = Array.from({ length: 1050 }, (_, i) => `many/${String(i).padStart(5, '0')}.json`);
    for (let i = 0; i < keys.length; i += 10) await Promise.all(keys.slice(i, i + 10).map((k) => sut.put(k, { k }))); // 10 at a time: a loaded CI machine starves 50
    const first = await sut.listPage('many/');
    expect(first.keys).toHaveLength(1000);
    expect(first.nextToken).toEqual(expect.any(String));
    const second = await sut.listPage('many/', first.nextToken);
    expect(second.keys).toHaveLength(50);
    expect(second.nextToken).toBeUndefined();
    const all: string[] = [];
    for await (const k of sut.listAll('many/')) all.push(k);
    expect(all.sort()).toEqual(keys);
  }, 120_000);

  it('says "S3 rejected the credentials" for a wrong secret key, naming the bucket', async () => {
    const wrong = await repositoryFor({ AWS_SECRET_ACCESS_KEY: 'definitely-not-the-secret' });
    try {
      const err = await wrong.repo.get('things/a.json').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(err).toMatchObject({ code: 'bad_credentials', detail: expect.stringContaining('S3 rejected the credentials') });
      expect((err as StorageError).detail).toContain(`"${bucket}"`);
      expect((err as StorageError).message).not.toContain(bucket); // what a caller reads
    } finally {
      await wrong.close();
    }
  });

  it('the readiness probe answers with the round trip, and with the reason when S3 refuses it', async () => {
    expect(await sut.ping()).toBeGreaterThan(0);
    const wrong = await repositoryFor({ AWS_SECRET_ACCESS_KEY: 'definitely-not-the-secret' });
    try {
      await expect(wrong.repo.ping()).rejects.toMatchObject({ code: 'bad_credentials', detail: expect.stringContaining(`"${bucket}"`) });
    } finally {
      await wrong.close();
    }
  });

  it('gives the NoSuchBucket guidance for a missing bucket', async () => {
    const missing = await repositoryFor({ S3_BUCKET: `missing-${bucket}` });
    try {
      await expect(missing.repo.put('x.json', {})).rejects.toMatchObject({
        code: 'bucket_missing',
        detail: expect.stringMatching(/"missing-.*" does not exist.*S3_BUCKET/),
      });
      await expect(missing.repo.ping()).rejects.toMatchObject({ code: 'bucket_missing' });
    } finally {
      await missing.close();
    }
  });

  it('refuses an update or a conditional delete whose read brought no ETag (a proxy that drops it), so a token written meanwhile stays', async () => {
    const proxy = await FaultProxy.start(target.endpoint);
    const through = await repositoryFor({ S3_ENDPOINT: proxy.url });
    try {
      const email = 'no-etag@example.com';
      const key = `credentials/${email}.json`;
      const doc = (rt: string) => ({ version: 1, email, token: 'at', refresh_token: rt, token_uri: 'https://oauth2.googleapis.com/token', client_id: 'c', scopes: ['openid'], updated_at: new Date().toISOString() });
      const path = /\/credentials\/no-etag(@|%40)example\.com\.json$/;
      // The read sees rt-1 and its answer comes without an ETag; another replica's rotation (rt-2) lands before the write.
      const staleRead = () => proxy.inject({ method: 'GET', path, fault: 'answer', status: 200, contentType: 'application/json', body: JSON.stringify(doc('rt-1')) });
      await sut.put(key, doc('rt-2'));
      const credentials = through.ctx.get(CredentialsRepository);
      staleRead();
      await expect(credentials.save(email, { token: 'at-new' })).rejects.toBeInstanceOf(StorageError);
      staleRead();
      await expect(credentials.deleteIfRefreshTokenIs(email, 'rt-1')).rejects.toBeInstanceOf(StorageError);
      expect((await sut.get(key))?.value).toMatchObject({ refresh_token: 'rt-2' });
    } finally {
      await through.close();
      await proxy.stop();
    }
  });
});
