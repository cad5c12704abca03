import { DomainError } from '../common/domain-error.js';

export type StorageErrorCode =
  | 'conflict' // a conditional write lost (412): re-read, merge, retry
  | 'bucket_missing'
  | 'access_denied'
  | 'bad_credentials'
  | 'timeout'
  | 'network'
  | 'invalid_data'
  | 'conditions_ignored' // S3 applied a write whose If-None-Match / If-Match did not hold: the service must not run on it
  | 'unknown';

/**
 * What a caller is told, per kind of failure. A StorageError's own text is the operator's guidance: it names the
 * bucket, the IAM action and ARN to grant, the STS role, S3's error. None of that is for whoever sent the request (on
 * a public route, anyone: a stranger told the name of a bucket that does not exist can create it in their own AWS
 * account), so callers get one of these, and the guidance is logged (StorageLatency, event s3_call_failed).
 */
const OUTAGE = "The service's storage (S3) is not available just now. Retry in a few seconds; if it keeps failing, tell the operators the time of the request.";
const REFUSED =
  "The service's storage (S3) refuses the service: a configuration problem the operators must fix, so a retry will not help until they do. Tell them the time of the request; the service's log names the cause.";
const CALLER_MESSAGE: Record<Exclude<StorageErrorCode, 'conflict'>, string> = {
  timeout: OUTAGE,
  network: OUTAGE,
  unknown: OUTAGE,
  bucket_missing: REFUSED,
  access_denied: REFUSED,
  bad_credentials: REFUSED,
  conditions_ignored: REFUSED,
  invalid_data: "A record the service keeps in its storage (S3) could not be read. Tell the operators the time of the request; the service's log names the cause.",
};

/**
 * An S3 failure translated into what it means for the service. `detail` is the operator's next step; `message`, what
 * the caller reads, is the same text only for a `conflict` (written for the caller: retry) and otherwise names nothing
 * of the deployment.
 */
export class StorageError extends DomainError {
  /** The operator's guidance (bucket, permission, S3's error): for the log and the boot's fatal line, never an answer. */
  readonly detail: string;

  constructor(
    readonly code: StorageErrorCode,
    detail: string,
  ) {
    // Callers see a 503: their request did nothing harmful and can be retried once storage is fixed.
    const conflict = code === 'conflict';
    super(conflict ? 409 : 503, conflict ? 'conflict' : 'storage_unavailable', conflict ? detail : CALLER_MESSAGE[code], conflict ? {} : { 'Retry-After': '2' });
    this.detail = detail;
  }

  /** True when S3 could not be reached or did not answer (an outage), as opposed to a refusal or bad data. */
  get isOutage(): boolean {
    return this.code === 'timeout' || this.code === 'network' || this.code === 'unknown';
  }
}

/** What the operators read about a failure: a StorageError's guidance, any other error's message. */
export function operatorDetail(err: unknown): string {
  if (err instanceof StorageError) return err.detail;
  return (err as Error)?.message ?? String(err);
}

export type StorageOperation = 'get' | 'put' | 'delete' | 'list' | 'probe';

const PERMISSION: Record<StorageOperation, string> = {
  get: 's3:GetObject',
  put: 's3:PutObject',
  delete: 's3:DeleteObject',
  list: 's3:ListBucket',
  // The probe reads a missing key: S3 answers 404 only to an identity that may also list the bucket.
  probe: 's3:GetObject and s3:ListBucket',
};

const ALL_PERMISSIONS = 's3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket';

/** Maps an AWS SDK error to a StorageError naming the bucket and, for denials, the missing permission. */
export function toStorageError(err: unknown, op: StorageOperation, bucket: string, timeoutMs: number): StorageError {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  if (err instanceof StorageError) return err;
  // A conditional put whose object was deleted in between lost its condition too (If-Match on a missing key: 404).
  if (name === 'PreconditionFailed' || status === 412 || name === 'ConditionalRequestConflict' || status === 409 || (op === 'put' && name === 'NoSuchKey')) {
    return new StorageError('conflict', 'Another request changed the same record at the same moment; retry.');
  }
  if (name === 'NoSuchBucket') {
    return new StorageError(
      'bucket_missing',
      `S3 bucket "${bucket}" does not exist. Create it (with default encryption SSE-S3) or set S3_BUCKET to an existing bucket.`,
    );
  }
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'InvalidToken' || name === 'ExpiredToken') {
    return new StorageError(
      'bad_credentials',
      `S3 rejected the credentials (${name}) for bucket "${bucket}". Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the ` +
        `pod's IAM role; the role needs ${ALL_PERMISSIONS} on the bucket.`,
    );
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new StorageError(
      'access_denied',
      `S3 denied ${PERMISSION[op]} on bucket "${bucket}". Grant the service's IAM identity ${PERMISSION[op]} ` +
        `(it needs ${ALL_PERMISSIONS}) on arn:aws:s3:::${bucket}.`,
    );
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout' || e?.code === 'ETIMEDOUT' || name === 'AbortError') {
    return new StorageError('timeout', `S3 did not answer ${op} on bucket "${bucket}" within ${timeoutMs} ms. Retry shortly; check S3_ENDPOINT and network policy if it persists.`);
  }
  if (status === 404) {
    // Not S3's NoSuchKey (JsonObjectRepository reads that as "missing") nor NoSuchBucket: not an S3 answer at all.
    return new StorageError(
      'unknown',
      `The S3 endpoint answered ${op} on bucket "${bucket}" with 404 and no S3 error (${name || 'unknown error'}). Check S3_ENDPOINT and S3_FORCE_PATH_STYLE.`,
    );
  }
  const networkCodes = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'EPIPE'];
  if (networkCodes.includes(e?.code ?? '') || networkCodes.some((c) => (e?.message ?? '').includes(c))) {
    return new StorageError('network', `S3 is unreachable (${e?.code ?? 'network error'}) for bucket "${bucket}". Retry shortly; check S3_ENDPOINT and network access to S3.`);
  }
  if (name === 'CredentialsProviderError') {
    // The SDK's default chain found nothing to sign with. Kept an outage ('unknown'): on AWS a role's credentials can
    // be briefly unavailable (instance metadata, STS), so the boot goes on with readiness down.
    return new StorageError(
      'unknown',
      `S3 ${op} on bucket "${bucket}" could not be signed: no AWS credentials found (${name}). Set AWS_ACCESS_KEY_ID and ` +
        `AWS_SECRET_ACCESS_KEY, or run with an IAM role (IRSA, EKS Pod Identity, an instance profile) that has ${ALL_PERMISSIONS} on the bucket.`,
    );
  }
  return new StorageError('unknown', `S3 ${op} on bucket "${bucket}" failed (${name || 'unknown error'}). Retry; if it persists, check the S3 service status.`);
}
