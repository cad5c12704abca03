import 'reflect-metadata';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createApp } from '../src/app.factory.js';
import { startGoogleEmulator } from '../emulators/google/google-emulator.js';
import { startS3Server } from '../emulators/s3/s3-server.js';

/**
 * `npm run start:local`: the service with an embedded S3 server (data under .local-data/ across restarts) and,
 * without GOOGLE_CLIENT_ID, the Google emulator whose sign-in page accepts any email. Real GOOGLE_* or S3_*
 * settings in the environment replace the embedded parts.
 */
async function main(): Promise<void> {
  const dataDir = process.env.LOCAL_DATA_DIR ?? '.local-data';
  mkdirSync(join(dataDir, 's3'), { recursive: true });
  const port = Number(process.env.PORT ?? 3000);
  // Loopback only, and the same host name everywhere: the sign-in cookie is set for the host the browser used, so
  // PUBLIC_URL (where Google sends the browser back) must name the same host.
  const env: Record<string, string | undefined> = { PUBLIC_URL: `http://127.0.0.1:${port}`, ...process.env, PORT: String(port) };

  if (!process.env.S3_BUCKET) {
    const bucket = 'local-credentials';
    const s3 = await startS3Server({ port: Number(process.env.LOCAL_S3_PORT ?? 4569), directory: join(dataDir, 's3'), buckets: [bucket] });
    Object.assign(env, {
      S3_BUCKET: bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    console.log(`embedded S3 server: ${s3.endpoint} (bucket ${bucket}, data in ${join(dataDir, 's3')})`);
  }

  if (!process.env.GOOGLE_CLIENT_ID) {
    const google = await startGoogleEmulator({ port: Number(process.env.LOCAL_GOOGLE_PORT ?? 4010) });
    Object.assign(env, {
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_AUTH_URL: google.urls.auth,
      GOOGLE_TOKEN_URL: google.urls.token,
      GOOGLE_USERINFO_URL: google.urls.userinfo,
      GOOGLE_REVOKE_URL: google.urls.revoke,
      GOOGLE_API_ROOT_URL: google.urls.apiRoot,
    });
    console.log(`Google emulator: ${google.baseUrl} (its sign-in page accepts any email)`);
  }

  if (!process.env.JWT_SECRET && !process.env.JWT_PRIVATE_KEY) {
    // Kept across restarts so bearer tokens stay valid while developing.
    const secretFile = join(dataDir, 'jwt-secret');
    if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
    env.JWT_SECRET = readFileSync(secretFile, 'utf8').trim();
  }

  const app = await createApp({ env, prettyLogs: true });
  await app.listen(port, '127.0.0.1');
  const base = env.PUBLIC_URL as string;
  console.log(`
Workspace credential broker on ${base}
  1. Open ${base}/auth/google in a browser, type any email, press Allow.
  2. Copy "access_token" from the JSON answer, then:
     curl -H "Authorization: Bearer $TOKEN" ${base}/v1/users/me/gmail/messages
     curl -H "Authorization: Bearer $TOKEN" ${base}/v1/users/me/drive/files
     curl -H "Authorization: Bearer $TOKEN" ${base}/v1/users/me/calendar/events
  Health: ${base}/health/ready
`);
}

main().catch((err: unknown) => {
  console.error(`start:local failed: ${(err as Error)?.message ?? String(err)}`);
  process.exit(1);
});
