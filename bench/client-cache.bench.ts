import { gmail } from '@googleapis/gmail';
import { drive } from '@googleapis/drive';
import type { AppConfig } from '../src/config/app-config.js';
import type { AppConfigValues } from '../src/config/config.schema.js';
import { GoogleClientCache, googleAuthLibrary } from '../src/credentials/google-client.cache.js';

/**
 * Memory of the per-user Google client cache as users come and go. Baseline (same run): the heap with the cache
 * full at GOOGLE_CLIENT_CACHE_MAX users. Then 10x as many distinct users pass through the bounded cache; the
 * figure that matters is the ratio to the baseline (about 1: old users' clients are let go), next to what the
 * same users would hold without the bound.
 */
export async function clientCacheBench(max: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  await googleAuthLibrary.load(); // the service loads it with a user's first Google call (GoogleApis.ready)
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const fill = (cache: GoogleClientCache, from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const user = cache.forUser({ email: `user${i}@example.com`, token: `ya29.${i}`, tokenUri: 'https://oauth2.googleapis.com/token', clientId: 'bench', scopes: [], expiry: new Date(Date.now() + 3600_000) });
      user.api('gmail', (auth) => gmail({ version: 'v1', auth }));
      user.api('drive', (auth) => drive({ version: 'v3', auth }));
    }
  };
  const cacheOf = (size: number) =>
    new GoogleClientCache({ values: { google: { clientId: 'bench', clientCacheMax: size, clientCacheTtlMs: 1_800_000 } } as unknown as AppConfigValues } as AppConfig);

  const empty = heap();
  const bounded = cacheOf(max);
  fill(bounded, 0, max);
  const full = heap() - empty;
  fill(bounded, max, max * 10);
  const afterTenfold = heap() - empty;
  const perUser = full / max;

  const unbounded = cacheOf(max * 10);
  fill(unbounded, 0, max * 10);
  const unboundedHeap = heap() - empty - afterTenfold;

  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  console.log(`client cache: ${max} users cached (baseline)            ${mb(full)}  (${(perUser / 1024).toFixed(1)} KB per user, Gmail + Drive clients)`);
  console.log(`client cache: ${max * 10} users through a ${max}-entry cache  ${mb(afterTenfold)}  ratio to baseline ${(afterTenfold / full).toFixed(2)}, entries ${bounded.size}`);
  console.log(`client cache: ${max * 10} users, no bound (comparison)      ${mb(unboundedHeap)}  ratio to baseline ${(unboundedHeap / full).toFixed(2)}`);
}
