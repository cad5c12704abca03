import type { World } from '../test/support/harness.js';

/** What the orchestrator needs to configure the service (the fields serviceEnv reads). */
export interface WorldInfo {
  google: { clientId: string; clientSecret: string; urls: World['google']['urls'] };
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; sse: 'AES256' };
  bucket: string;
}

/** What the orchestrator needs to configure a service against an emulated world: the Google client, S3, the bucket. */
export function describeWorld(
  google: { clientId: string; clientSecret: string; urls: WorldInfo['google']['urls'] },
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string },
  bucket: string,
): WorldInfo {
  return {
    google: { clientId: google.clientId, clientSecret: google.clientSecret, urls: google.urls },
    s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, sse: 'AES256' },
    bucket,
  };
}
