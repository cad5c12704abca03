import { S3Client } from '@aws-sdk/client-s3';
import type { FactoryProvider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

export const S3_CLIENT = Symbol('S3_CLIENT');

/**
 * One S3 client per service instance. Credentials come from the AWS default chain (IAM role, env, profile) unless
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY were given to this instance's configuration explicitly.
 */
export const s3ClientProvider: FactoryProvider<S3Client> = {
  provide: S3_CLIENT,
  inject: [AppConfig],
  useFactory: ({ values: { s3 } }: AppConfig) =>
    new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: s3.forcePathStyle,
      credentials: s3.accessKeyId ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey ?? '' } : undefined,
      // Plain bodies (no aws-chunked framing, no trailing checksums): every S3-compatible server accepts them,
      // and objects here are a few hundred bytes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: { connectionTimeout: Math.min(s3.timeoutMs, 2000), requestTimeout: s3.timeoutMs },
    }),
};
