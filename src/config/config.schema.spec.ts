import { ConfigError, parseConfig } from './config.schema.js';

const valid = {
  GOOGLE_CLIENT_ID: 'id',
  GOOGLE_CLIENT_SECRET: 'secret',
  S3_BUCKET: 'bucket',
  JWT_SECRET: 'x'.repeat(32),
};

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const sut = parseConfig(valid);
    expect(sut.port).toBe(3000);
    expect(sut.publicUrl).toBe('http://localhost:3000');
    expect(sut.s3).toMatchObject({ credentialsPrefix: 'credentials/', sessionPrefix: 'sessions/', region: 'us-east-1', sse: 'AES256', forcePathStyle: false, latencyWarnMs: 500 });
    expect(sut.jwt).toMatchObject({ algorithm: 'HS256', issuer: 'http://localhost:3000', audience: 'workspace-api', ttlSeconds: 3600 });
    expect(sut.sessions.cacheTtlMs).toBe(5000);
    expect(sut.google.clientCacheTtlMs).toBe(1800000);
    expect(sut.google.scopes).toEqual(expect.arrayContaining(['openid', 'email', 'profile', 'https://www.googleapis.com/auth/calendar.readonly']));
  });

  it.each([
    [{ ...valid, S3_BUCKET: undefined }, 'S3_BUCKET'],
    [{ ...valid, JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ ...valid, JWT_SECRET: undefined }, 'JWT_SECRET'],
    [{ ...valid, S3_SSE: 'aws:kms' }, 'S3_SSE_KMS_KEY_ID'],
    [{ ...valid, S3_SSE: 'none' }, 'S3_SSE'],
    [{ ...valid, PORT: 'eighty' }, 'PORT'],
    [{ ...valid, S3_ENDPOINT: 'not a url' }, 'S3_ENDPOINT'],
    [{ ...valid, S3_PREFIX: 'creds' }, 'S3_PREFIX'],
  ])('names the bad variable (%#)', (env, name) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(new RegExp(name));
  });
});
