import { gmail } from '@googleapis/gmail';
import { OAuth2Client } from 'google-auth-library';
import { readObject, signIn, startWorldWithService, stopAll } from '../test/support/harness.js';

interface Run {
  perSecond: number;
  p50: number;
  p99: number;
}

/** `total` calls with `concurrency` in flight; wall-clock rate and latency percentiles (ms). */
async function load(total: number, concurrency: number, call: () => Promise<unknown>): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) {
        const t = performance.now();
        const res = await call();
        if (res instanceof Response) {
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`status ${res.status}`);
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { perSecond: total / seconds, p50: at(0.5), p99: at(0.99) };
}

/**
 * The warm Workspace call (bearer verified, session and credentials in memory, cached Google client) against the
 * same Google call made directly to the emulator, in the same run: the ratio is what the service adds.
 */
export async function hotPathBench(total: number, concurrency: number): Promise<void> {
  const { world, sut } = await startWorldWithService({ LOG_LEVEL: 'warn' });
  try {
    const { access_token } = await signIn(sut, world, 'bench@example.com');
    const google = (await readObject(world, 'credentials/bench@example.com.json')).json.token as string;
    const direct = () => fetch(`${world.google.urls.apiRoot}gmail/v1/users/me/messages?maxResults=5`, { headers: { authorization: `Bearer ${google}` } });
    // The same call through the googleapis client the service uses: what the library itself costs.
    const auth = new OAuth2Client({ clientId: 'bench' });
    auth.setCredentials({ access_token: google });
    const client = gmail({ version: 'v1', auth, rootUrl: world.google.urls.apiRoot, retry: false });
    const library = () => client.users.messages.list({ userId: 'me', maxResults: 5 });
    const through = () => fetch(`${sut.url}/v1/users/me/gmail/messages?maxResults=5`, { headers: { authorization: `Bearer ${access_token}` } });
    await load(200, concurrency, direct); // warm-up of both paths
    await load(200, concurrency, library);
    await load(200, concurrency, through);
    const baseline = await load(total, concurrency, direct);
    const viaLibrary = await load(total, concurrency, library);
    const service = await load(total, concurrency, through);
    const f = (r: Run) => `${r.perSecond.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`;
    console.log(`hot path: Google emulator directly (baseline)   ${f(baseline)}`);
    console.log(`hot path: googleapis client directly            ${f(viaLibrary)}`);
    console.log(`hot path: through the service                   ${f(service)}`);
    console.log(`hot path: googleapis / baseline: throughput ${(viaLibrary.perSecond / baseline.perSecond).toFixed(2)}, p50 latency ${(viaLibrary.p50 / baseline.p50).toFixed(2)}`);
    console.log(`hot path: service / baseline: throughput ${(service.perSecond / baseline.perSecond).toFixed(2)}, p50 latency ${(service.p50 / baseline.p50).toFixed(2)}`);
  } finally {
    await stopAll(world, sut);
  }
}
