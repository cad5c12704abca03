/**
 * Runs `work` for every item, at most `concurrency` at a time; every item is tried even when some fail, and the
 * first failure is thrown once all are done, so a retry finds only what is left (the deletes of a revocation).
 */
export async function eachTried<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const failures: unknown[] = [];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item).catch((err: unknown) => void failures.push(err));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  if (failures.length > 0) throw failures[0];
}
