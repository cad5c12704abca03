/** How a promise stood when settleWithin stopped waiting. */
export type Settled<T> = { done: 'ok'; value: T } | { done: 'error'; error: unknown } | { done: 'pending' };

/** The promise's outcome if it settles within `ms`, else 'pending' (it keeps running). */
export function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ done: 'pending' }), ms);
  });
  const settled = promise.then(
    (value): Settled<T> => ({ done: 'ok', value }),
    (error: unknown): Settled<T> => ({ done: 'error', error }),
  );
  return Promise.race([settled, pending]).finally(() => clearTimeout(timer));
}
