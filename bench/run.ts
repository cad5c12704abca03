import { clientCacheBench } from './client-cache.bench.js';
import { hotPathBench } from './hot-path.bench.js';

/** `npm run bench`: prints figures, each compared with a baseline measured in the same run. */
async function main(): Promise<void> {
  await clientCacheBench(Number(process.env.BENCH_CACHE_USERS ?? 10_000));
  await hotPathBench(Number(process.env.BENCH_REQUESTS ?? 3000), 16);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
