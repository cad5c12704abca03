import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { startS3Server, type S3Server } from '../../emulators/s3/s3-server.js';

/**
 * The S3 a suite runs against: the embedded test server by default, or any S3 endpoint named by S3_TEST_ENDPOINT
 * (with S3_TEST_ACCESS_KEY, S3_TEST_SECRET_KEY, S3_TEST_REGION, S3_TEST_SSE, S3_TEST_SSE_KMS_KEY_ID), such as the
 * RADOS Gateway that scripts/ceph-s3.sh boots.
 */
export interface S3Target {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  sse: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  /** The embedded server, when the target is ours (tests that stop S3 need it). */
  embedded?: S3Server;
  /** A new, empty bucket for one suite. */
  createBucket(prefix: string): Promise<string>;
  /** An S3 client with the target's credentials. */
  client(overrides?: { secretAccessKey?: string; accessKeyId?: string }): S3Client;
  close(): Promise<void>;
}

/** True when the suites run against an external S3 (S3_TEST_ENDPOINT). */
export const externalS3 = Boolean(process.env.S3_TEST_ENDPOINT);

/** Opens the target S3. */
export async function openS3Target(): Promise<S3Target> {
  const embedded = externalS3 ? undefined : await startS3Server();
  const env = process.env;
  const target = {
    endpoint: embedded?.endpoint ?? (env.S3_TEST_ENDPOINT as string),
    accessKeyId: embedded?.accessKeyId ?? env.S3_TEST_ACCESS_KEY ?? '',
    secretAccessKey: embedded?.secretAccessKey ?? env.S3_TEST_SECRET_KEY ?? '',
    region: embedded?.region ?? env.S3_TEST_REGION ?? 'us-east-1',
    sse: (embedded ? 'AES256' : (env.S3_TEST_SSE ?? 'AES256')) as 'AES256' | 'aws:kms',
    kmsKeyId: embedded ? undefined : env.S3_TEST_SSE_KMS_KEY_ID,
    embedded,
  };
  const clients: S3Client[] = [];
  const client = (overrides: { secretAccessKey?: string; accessKeyId?: string } = {}) => {
    const c = new S3Client({
      region: target.region,
      endpoint: target.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: overrides.accessKeyId ?? target.accessKeyId, secretAccessKey: overrides.secretAccessKey ?? target.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.push(c);
    return c;
  };
  const admin = client();
  return {
    ...target,
    client,
    async createBucket(prefix: string) {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`;
      await admin.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async close() {
      clients.forEach((c) => c.destroy());
      await embedded?.close();
    },
  };
}
