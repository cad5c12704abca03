import { StorageError, toStorageError } from './storage.errors.js';

describe('toStorageError', () => {
  it('says "no AWS credentials found" and how to provide them when the SDK found none (was: "check the S3 service status")', () => {
    // What the AWS SDK's default chain throws when no variable, profile, web identity token or instance role gave it
    // credentials: a newcomer running the service outside AWS without AWS_ACCESS_KEY_ID meets it at the boot check.
    const err = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false });
    const mapped = toStorageError(err, 'probe', 'my-bucket', 5000);
    expect(mapped).toBeInstanceOf(StorageError);
    expect(mapped.detail).toMatch(/no AWS credentials found/);
    expect(mapped.detail).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    expect(mapped.detail).toMatch(/IAM role/);
    expect(mapped.detail).toContain('"my-bucket"');
    expect(mapped.detail).not.toMatch(/S3 service status/);
    // Still treated as an outage: on AWS a role's credentials can be briefly unavailable (instance metadata, STS),
    // and the boot goes on with readiness down rather than crash-looping.
    expect(mapped.isOutage).toBe(true);
  });

  it.each([
    ['NoSuchBucket', { name: 'NoSuchBucket' }, 'bucket_missing'],
    ['AccessDenied', { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'access_denied'],
    ['InvalidAccessKeyId', { name: 'InvalidAccessKeyId' }, 'bad_credentials'],
    ['a timeout', { name: 'TimeoutError' }, 'timeout'],
    ['a refused connection', { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.1.2.3:9000' }, 'network'],
    ['a gateway 404', { name: 'NotFound', $metadata: { httpStatusCode: 404 } }, 'unknown'],
  ])('keeps %s guidance, which names the bucket, for the operators; what a caller reads names nothing of the deployment', (_label, sdkError, code) => {
    const mapped = toStorageError(Object.assign(new Error('x'), sdkError), 'put', 'acme-prod-credentials', 5000);
    expect(mapped).toMatchObject({ code, status: 503, error: 'storage_unavailable' });
    expect(mapped.detail).toContain('acme-prod-credentials');
    expect(mapped.message).toMatch(/^The service's storage \(S3\) /);
    expect(mapped.message).not.toMatch(/acme|arn:|s3:|10\.1\.2\.3|S3_|AWS_|ECONN|5000/);
  });

  it('tells the caller what to do next: retry an outage, ask the operators about a refusal', () => {
    expect(new StorageError('timeout', 'S3 did not answer get on bucket "b" within 5000 ms').message).toMatch(/Retry in a few seconds/);
    expect(new StorageError('access_denied', 'S3 denied s3:GetObject on bucket "b"').message).toMatch(/operators must fix.*retry will not help/);
  });

  it('keeps a conflict\'s own text for the caller: it is written for them (retry) and names nothing', () => {
    const conflict = new StorageError('conflict', 'The approval kept changing while being recorded; press Allow again.');
    expect(conflict).toMatchObject({ status: 409, message: 'The approval kept changing while being recorded; press Allow again.' });
    expect(toStorageError(Object.assign(new Error('x'), { name: 'PreconditionFailed' }), 'put', 'acme-prod-credentials', 5000).message).not.toContain('acme');
  });
});
