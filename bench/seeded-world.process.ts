// The sessions benchmarks' "world" process: the S3 server on a folder the orchestrator seeds directly (100,000 users'
// objects are written in s3rver's storage layout, far faster than 300,000 PUTs), and the Google emulator. Like
// world.process.ts it counts the requests S3 receives by method and key folder, and signs users in for real.
import { startS3Server } from '../emulators/s3/s3-server.js';
import { startGoogleEmulator } from '../emulators/google/google-emulator.js';
import { signIn, type World } from '../test/support/harness.js';
import { serveIpc } from './ipc-child.js';
import { describeWorld } from './world-info.js';
import type { BenchUser } from './world.process.js';

/** What the orchestrator asks over IPC. */
export type SeededWorldRequest = { id: number; op: 'signIn'; serviceUrl: string; email: string } | { id: number; op: 's3Requests' } | { id: number; op: 's3Millis' } | { id: number; op: 'stop' };

async function main(): Promise<void> {
  const directory = process.env.BENCH_S3_DIRECTORY as string;
  const bucket = process.env.BENCH_S3_BUCKET as string;
  const s3Requests = new Map<string, number>();
  // Time the S3 server spent answering, by the same kinds (s3rver lists a bucket by walking every stored key: on
  // 300,000 objects even a one-key listing takes most of a second, which real S3 does not).
  const s3Millis = new Map<string, number>();
  const s3 = await startS3Server({
    directory,
    onRequest: (req, res) => {
      const [path, query = ''] = (req.url ?? '').split('?');
      const folder = path.split('/')[2] ?? '';
      // A bucket-level GET is a listing: say how many keys it asked for.
      const kind = req.method === 'GET' && !folder ? `LIST max-keys=${new URLSearchParams(query).get('max-keys') ?? 'all'}` : `${req.method} ${folder}`;
      s3Requests.set(kind, (s3Requests.get(kind) ?? 0) + 1);
      const t0 = performance.now();
      res.once('finish', () => s3Millis.set(kind, (s3Millis.get(kind) ?? 0) + performance.now() - t0));
    },
  });
  await s3.createBucket(bucket);
  const google = await startGoogleEmulator();
  const world = { google, bucket } as unknown as World;
  const info = describeWorld(google, s3, bucket);
  serveIpc<SeededWorldRequest>(
    info,
    async (msg) => {
      if (msg.op === 's3Requests') return Object.fromEntries(s3Requests);
      if (msg.op === 's3Millis') return Object.fromEntries(s3Millis);
      if (msg.op === 'signIn') {
        const signedIn = await signIn({ url: msg.serviceUrl }, world, msg.email);
        return { accessToken: signedIn.access_token, sessionId: signedIn.session_id, googleToken: '' } satisfies BenchUser;
      }
      throw new Error(`unknown op ${msg.op}`);
    },
    async () => {
      await google.stop();
      await s3.close();
    },
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
