import { StorageError } from '../storage/storage.errors.js';

/** Each reason in words, for the 503's message. */
const SAID = {
  bucket_missing: 'the S3 bucket does not exist',
  access_denied: "S3 denies the service's identity a permission it needs",
  credentials_rejected: "S3 rejects the service's credentials",
  timeout: 'S3 did not answer in time',
  unreachable: 'S3 cannot be reached',
  s3_error: 'S3 answered with an error',
  conditional_writes_ignored: 'S3 ignores conditional writes, which the service needs',
  conditional_writes_unchecked: 'the check that S3 honours conditional writes has not passed yet',
} as const;

/**
 * Why readiness fails, as a stable code. /health/ready is public (it must answer the kubelet and any load balancer
 * without a token), so its body says which kind of failure it is and nothing else: no bucket, no endpoint host, no
 * IAM action or AWS request id. Those are in the log line the indicator writes (event s3_not_ready). A bucket name
 * next to "the bucket does not exist" would be an invitation to create that bucket in another AWS account.
 */
export type ReadinessReason = keyof typeof SAID;

/** Every reason, for the API document. */
export const READINESS_REASONS = Object.keys(SAID) as ReadinessReason[];

/** The code of a failed probe (`stage` 'probe') or of a failed conditional-write check (`stage` 'conditional_writes'). */
export function readinessReason(err: unknown, stage: 'probe' | 'conditional_writes'): ReadinessReason {
  if (err instanceof ReadinessTimeout) return 'timeout';
  if (stage === 'conditional_writes') {
    return err instanceof StorageError && err.code === 'conditions_ignored' ? 'conditional_writes_ignored' : 'conditional_writes_unchecked';
  }
  if (!(err instanceof StorageError)) return 's3_error';
  switch (err.code) {
    case 'bucket_missing':
    case 'access_denied':
    case 'timeout':
      return err.code;
    case 'bad_credentials':
      return 'credentials_rejected';
    case 'network':
      return 'unreachable';
    default:
      return 's3_error';
  }
}

/** The 503's message: the kind of failure in words, and where the detail is. */
export function notReadyMessage(reason: string | undefined): string {
  const said = SAID[reason as ReadinessReason] ?? 'a dependency is down';
  return `Not ready: ${said}. Send requests to another instance; the operators find the cause in this instance's log (event s3_not_ready).`;
}

/** Readiness' own bound on one check ran out. */
export class ReadinessTimeout extends Error {
  constructor(readonly ms: number) {
    super(`S3 did not answer the readiness check within ${ms} ms`);
  }
}
