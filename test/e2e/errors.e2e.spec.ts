import { DeleteBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createApp } from '../../src/app.factory.js';
import { CapturedLogger } from '../support/captured-logger.js';
import { Browser } from '../support/http-client.js';
import {
  createBucket,
  getWithBearer,
  readObject,
  serviceEnv,
  Service,
  signIn,
  startService,
  startSignIn,
  startWorldWithService,
  stopAll,
  World,
} from '../support/harness.js';

describe('Bad input, S3 errors, compatibility and log hygiene', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  it('stops the boot naming the bad configuration variable', async () => {
    const env = serviceEnv(world, 3999, { GOOGLE_CLIENT_ID: undefined, JWT_SECRET: 'short' });
    await expect(createApp({ env, logger: new CapturedLogger() })).rejects.toThrow(/GOOGLE_CLIENT_ID.*required[\s\S]*JWT_SECRET.*32/);
  });

  it('stops the boot with NoSuchBucket guidance naming the bucket', async () => {
    await expect(startService(world, { S3_BUCKET: 'no-such-bucket' })).rejects.toThrow(/"no-such-bucket" does not exist.*S3_BUCKET/);
  });

  it('stops the boot when S3 rejects the credentials, naming the bucket and the permissions', async () => {
    await expect(startService(world, { AWS_ACCESS_KEY_ID: 'WRONGKEY' })).rejects.toThrow(
      /S3 rejected the credentials.*"broker-test-[0-9a-f]+".*s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket/,
    );
  });

  it('a bucket that disappears at runtime: 503 that names no bucket, to a signing-in browser and on the public /oauth/register; the log names it, once', async () => {
    await createBucket(world, 'short-lived');
    const service = await startService(world, { S3_BUCKET: 'short-lived' });
    const s3Failures = () => world.logs.lines.map((l) => l.message as Record<string, unknown>).filter((m) => m?.event === 's3_call_failed' && m.code === 'bucket_missing');
    try {
      // The callback is the first S3 call of a sign-in (/auth/google asks S3 nothing, so it cannot leak who is known).
      const browser = new Browser();
      const callbackUrl = await world.google.approve(await startSignIn(service, browser, 'zoe@example.com'), { email: 'zoe@example.com' });
      await world.admin.send(new DeleteBucketCommand({ Bucket: 'short-lived' }));
      const before = s3Failures().length;
      const res = await browser.get(callbackUrl);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        statusCode: 503,
        error: 'storage_unavailable',
        message: expect.stringMatching(/^The service's storage \(S3\) refuses the service: a configuration problem the operators must fix/),
      });
      // Anyone can call the registration endpoint: a stranger told which bucket is missing could create it in an AWS
      // account of their own, and S3 calls the service makes would then go to it.
      const registered = await fetch(`${service.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }) });
      expect(registered.status).toBe(503);
      const text = await registered.text();
      expect(JSON.parse(text)).toMatchObject({ error: 'temporarily_unavailable', reason: 'storage_unavailable', error_description: expect.stringContaining('operators must fix') });
      expect(text).not.toMatch(/short-lived|arn:aws|s3:PutObject|S3_BUCKET/);
      // Two requests (and several S3 calls each), one line for the operators, naming the bucket and what to do.
      expect(s3Failures().slice(before)).toEqual([expect.objectContaining({ detail: expect.stringMatching(/"short-lived" does not exist.*S3_BUCKET/) })]);
    } finally {
      await service.close();
    }
  });

  it('answers unknown routes, bad queries and bad bodies with JSON 4xx errors', async () => {
    const { access_token } = await signIn(sut, world, 'quinn@example.com');
    const notFound = await fetch(`${sut.url}/nope`);
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ statusCode: 404, error: 'not_found', message: expect.any(String) });

    for (const [path, field] of [
      ['/v1/users/me/gmail/messages?maxResults=0', 'maxResults'],
      ['/v1/users/me/gmail/messages?maxResults=abc', 'maxResults'],
      ['/v1/users/me/drive/files?pageSize=5000', 'pageSize'],
      ['/v1/users/me/calendar/events?timeMin=yesterday', 'timeMin'],
      ['/v1/users/me/calendar/events?calendarId=../../x', 'calendarId'],
      ['/v1/users/me/gmail/messages?unknown=1', 'unknown'],
    ]) {
      const res = await getWithBearer(sut, path, access_token);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { message: string };
      expect(body).toMatchObject({ statusCode: 400, error: 'invalid_request' });
      expect(body.message).toContain(field);
    }

    const badJson = await fetch(`${sut.url}/auth/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token":' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ statusCode: 400, message: expect.any(String) });
  });

  it('reads credential files written by the Python google_workspace_mcp server', async () => {
    const { access_token } = await signIn(sut, world, 'py@example.com');
    const ours = await readObject(world, 'credentials/py@example.com.json');
    // google-auth's authorized-user JSON: client_secret included, naive UTC expiry with microseconds, in the past.
    const pythonFile = {
      token: 'ya29.stale-token-from-python',
      refresh_token: ours.json.refresh_token,
      token_uri: world.google.urls.token,
      client_id: world.google.clientId,
      client_secret: world.google.clientSecret,
      scopes: ours.json.scopes,
      universe_domain: 'googleapis.com',
      account: '',
      expiry: '2024-01-01T10:00:00.123456',
    };
    await world.admin.send(
      new PutObjectCommand({ Bucket: world.bucket, Key: 'credentials/py@example.com.json', Body: JSON.stringify(pythonFile), ContentType: 'application/json' }),
    );
    const fresh = await startService(world); // no warm cache: reads the Python file from S3
    try {
      const res = await getWithBearer(fresh, '/v1/users/me/gmail/messages', access_token);
      expect(res.status).toBe(200);
      const after = await readObject(world, 'credentials/py@example.com.json');
      expect(after.json).toMatchObject({ version: 1, email: 'py@example.com', refresh_token: ours.json.refresh_token });
      expect(after.json.token).not.toBe('ya29.stale-token-from-python');
      expect(after.json).not.toHaveProperty('client_secret');
      expect(after.head.ServerSideEncryption).toBe(world.s3.sse);
    } finally {
      await fresh.close();
    }
  });

  it('never logs an access token, refresh token, client secret or bearer JWT', async () => {
    const logs = new CapturedLogger();
    const service = await startService(world);
    try {
      const signedIn = await signIn(service, world, 'lena@example.com');
      const { json } = await readObject(world, 'credentials/lena@example.com.json');
      world.google.expireAccessTokens('lena@example.com');
      expect((await getWithBearer(service, '/v1/users/me/drive/files', signedIn.access_token)).status).toBe(200);
      await getWithBearer(service, '/v1/users/other@example.com/drive/files', signedIn.access_token);
      const refreshed = await readObject(world, 'credentials/lena@example.com.json');
      await fetch(`${service.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${signedIn.access_token}` } });
      const text = service.logs.text + logs.text;
      expect(service.logs.lines.length).toBeGreaterThan(3);
      for (const secret of [signedIn.access_token, json.token, json.refresh_token, refreshed.json.token, world.google.clientSecret]) {
        expect(typeof secret).toBe('string');
        expect(text).not.toContain(secret as string);
      }
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./);
    } finally {
      await service.close();
    }
  });
});
