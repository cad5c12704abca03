import { StorageError, toStorageError } from './storage.errors.js';

describe('toStorageError', () => {
  it('says "no AWS credentials found" and how to provide them when the SDK found none (was: "check the S3 service status")', () => {
    // What the AWS SDK's default chain throws when no variable, profile, web identity token or instance role gave it
    // credentials: a newcomer running the service outside AWS without AWS_ACCESS_KEY_ID meets it at the boot check.
    const err = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false });
    const mapped = toStorageError(err, 'probe', 'my-bucket', 5000);
    expect(mapped).toBeInstanceOf(StorageError);
    expect(mapped.message).toMatch(/no AWS credentials found/);
    expect(mapped.message).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    expect(mapped.message).toMatch(/IAM role/);
    expect(mapped.message).toContain('"my-bucket"');
    expect(mapped.message).not.toMatch(/S3 service status/);
    // Still treated as an outage: on AWS a role's credentials can be briefly unavailable (instance metadata, STS),
    // and the boot goes on with readiness down rather than crash-looping.
    expect(mapped.isOutage).toBe(true);
  });
});
