import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A context made after this flag is set gets V8's `gc`: the test process needs no --expose-gc of its own.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * A full garbage collection, now. A long download meets many in production; a short test may meet none, so what
 * holds a download's parts (its deadline above all) only weakly would pass the test and fail in production.
 */
export function collectGarbage(): void {
  gc();
}
