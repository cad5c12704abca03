import { S3Client } from '@aws-sdk/client-s3';
import type { FactoryProvider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { CallBoundHttpHandler, carryCallSignals } from './s3-call-signal.js';
import { StorageError } from './storage.errors.js';

export const S3_CLIENT = Symbol('S3_CLIENT');

/**
 * One S3 client per service instance. Credentials come from the AWS default chain (IAM role, env, profile) unless
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY were given to this instance's configuration explicitly.
 */
export const s3ClientProvider: FactoryProvider<S3Client> = {
  provide: S3_CLIENT,
  inject: [AppConfig],
  useFactory: ({ values: { s3 } }: AppConfig) =>
    nameCredentialRefusals(trimPerCallWork(carryCallSignals(new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: s3.forcePathStyle,
      credentials: s3.accessKeyId ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey ?? '' } : undefined,
      // Plain bodies (no aws-chunked framing, no trailing checksums): every S3-compatible server accepts them,
      // and objects here are a few hundred bytes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The middleware stack is resolved once per command class, not per call (see s3-call-signal.ts).
      cacheMiddleware: true,
      // General-purpose buckets only: no S3 Express session lookup per call (directory buckets are not supported).
      disableS3ExpressSessionAuth: true,
      ...s3Bounds(s3.timeoutMs),
    })))),
};

/**
 * Credentials from the default chain that STS refused (IRSA: the role's trust policy does not name this cluster's
 * OIDC provider or service account, or the role does not exist) fail every S3 call with STS's own error, which the
 * S3 error mapping would read as "S3 denied s3:GetObject", sending the operator to the bucket policy. A 4xx from the
 * credential source becomes `bad_credentials` naming the role (the boot stops on it); a stalled or unreachable STS
 * is left as it is, an outage that readiness reports until STS answers.
 */
export function nameCredentialRefusals(client: S3Client): S3Client {
  const resolve = client.config.credentials;
  client.config.credentials = async (props) => {
    try {
      return await resolve(props);
    } catch (err) {
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = e?.$metadata?.httpStatusCode ?? 0;
      if (status < 400 || status >= 500 || status === 429) throw err;
      const role = process.env.AWS_ROLE_ARN ? `role ${process.env.AWS_ROLE_ARN}` : 'the configured role';
      throw new StorageError(
        'bad_credentials',
        `AWS STS refused the S3 credentials for ${role} (${e.name ?? status}: ${String(e.message ?? '').slice(0, 200)}). ` +
          'Check AWS_ROLE_ARN and that the role\'s trust policy allows this cluster\'s OIDC provider and service account ' +
          '(deploy/kubernetes/serviceaccount.yaml), or set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.',
      );
    }
  };
  return client;
}

type SignerFactory = S3Client['config']['signer'];

/**
 * Per-call work of the SDK that changes nothing for this service, taken out of every call (with
 * disableS3ExpressSessionAuth, 6-14% of the SDK's CPU per S3 call with a canned HTTP handler, 20-50 µs; 8% of a call's
 * CPU against a local S3 server):
 * - the SDK builds a new SigV4 signer for every call from a copy of the whole client configuration, though its
 *   inputs are the same on every call (the SDK keeps the signing region and service of its first call); one signer
 *   per auth scheme is reused instead. Credentials stay the SDK's provider, so a rotated IAM role is still picked up.
 * - the logger middleware (the service gives the SDK no logger) and recursion detection (it only forwards the
 *   X-Amzn-Trace-Id of an AWS Lambda invocation).
 */
export function trimPerCallWork(client: S3Client): S3Client {
  const build: SignerFactory = client.config.signer;
  const signers = new Map<string, ReturnType<SignerFactory>>();
  client.config.signer = (scheme) => {
    const key = `${scheme?.name}|${scheme?.signingName}|${scheme?.signingRegion}`;
    let signer = signers.get(key);
    if (!signer) {
      // A failure (the region provider of the default chain) is not kept: the next call tries again.
      signer = build(scheme).catch((err: unknown) => {
        signers.delete(key);
        throw err;
      });
      signers.set(key, signer);
    }
    return signer;
  };
  client.middlewareStack.remove('loggerMiddleware');
  client.middlewareStack.remove('recursionDetectionMiddleware');
  return client;
}

/**
 * Per-attempt bounds for S3_TIMEOUT_MS; the whole call, retries included, is also cut at S3_TIMEOUT_MS by
 * JsonObjectRepository's abort signal. An attempt may use the whole budget (a slow S3 on a busy node still gets its
 * answer through), so a stalled attempt is not retried, while a quick failure (a reset or a stale keep-alive socket)
 * gets one retry within what is left. The SDK's standard retry strategy waits a fully jittered exponential backoff
 * (base 100 ms) between attempts and draws from a retry quota, so a fleet of replicas does not hammer a struggling
 * S3. `throwOnRequestTimeout`: without it the locked node-http-handler only logs a warning when requestTimeout
 * passes and keeps waiting; socketTimeout ends a socket that goes silent. The handler also aborts each request with
 * its call's signal (CallBoundHttpHandler).
 */
export function s3Bounds(timeoutMs: number) {
  return {
    maxAttempts: 2,
    retryMode: 'standard' as const,
    requestHandler: new CallBoundHttpHandler({
      connectionTimeout: Math.min(timeoutMs, 2000),
      requestTimeout: timeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: timeoutMs,
    }),
  };
}
