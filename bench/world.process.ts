// The benchmark's "world" process: the S3 server and the Google emulator, as the service sees them in production
// (other hosts), here in their own process so their CPU is not counted against the service or the load generator.
// Driven by the orchestrator over IPC: it signs a user in through the service (the emulator plays the browser's
// Google side) and reports how many requests S3 received.
import { startS3Server } from '../emulators/s3/s3-server.js';
import { startGoogleEmulator } from '../emulators/google/google-emulator.js';
import { readObject, signIn, type World } from '../test/support/harness.js';
import { S3Client } from '@aws-sdk/client-s3';
import { serveIpc } from './ipc-child.js';
import { describeWorld, type WorldInfo } from './world-info.js';

export type { WorldInfo } from './world-info.js';
import { recordServedRequests } from './served-timing.js';

/** A signed-in user: the service's bearer and the Google access token the service holds for them. */
export interface BenchUser {
  accessToken: string;
  sessionId: string;
  googleToken: string;
}

export type WorldRequest =
  | { id: number; op: 'signIn'; serviceUrl: string; email: string }
  | { id: number; op: 's3Requests' }
  | { id: number; op: 'stop' }
  // The targets 4 and 7 benches (refresh-storm.bench.ts, own-time.bench.ts):
  | { id: number; op: 'expire'; emails: string[] }
  | { id: number; op: 'refreshCount'; emails: string[] }
  | { id: number; op: 'approve'; authorizeUrl: string; email: string }
  | { id: number; op: 'timeServed'; on: boolean }
  | { id: number; op: 'served' };

async function main(): Promise<void> {
  // Requests by method and top folder of the key (`GET sessions`), to say what a non-zero count was.
  const s3Requests = new Map<string, number>();
  const s3 = await startS3Server({
    onRequest: (req) => {
      const kind = `${req.method} ${(req.url ?? '').split('?')[0].split('/')[2] ?? ''}`;
      s3Requests.set(kind, (s3Requests.get(kind) ?? 0) + 1);
    },
  });
  const bucket = 'broker-bench';
  await s3.createBucket(bucket);
  const google = await startGoogleEmulator({ accessTokenTtlSeconds: Number(process.env.BENCH_GOOGLE_TOKEN_TTL_S) || undefined });
  const served = recordServedRequests(() => ({ [Number(new URL(google.baseUrl).port)]: 'google', [Number(new URL(s3.endpoint).port)]: 's3' }));
  const admin = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const world = { google, bucket, admin } as unknown as World;
  const info = describeWorld(google, s3, bucket);
  serveIpc<WorldRequest>(
    info,
    async (msg) => {
      if (msg.op === 's3Requests') return Object.fromEntries(s3Requests);
      if (msg.op === 'expire') return msg.emails.forEach((e) => google.expireAccessTokens(e)) ?? msg.emails.length;
      if (msg.op === 'refreshCount') return { total: google.refreshCount(), byEmail: Object.fromEntries(msg.emails.map((e) => [e, google.refreshCount(e)])) };
      if (msg.op === 'approve') return google.approve(msg.authorizeUrl, { email: msg.email });
      if (msg.op === 'timeServed') return served.setOn(msg.on) ?? msg.on;
      if (msg.op === 'served') return served.take();
      if (msg.op === 'signIn') {
        const signedIn = await signIn({ url: msg.serviceUrl }, world, msg.email);
        const stored = await readObject(world, `credentials/${msg.email}.json`);
        return { accessToken: signedIn.access_token, sessionId: signedIn.session_id, googleToken: String(stored.json.token) } satisfies BenchUser;
      }
      throw new Error(`unknown op ${msg.op}`);
    },
    async () => {
      admin.destroy();
      await google.stop();
      await s3.close();
    },
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
