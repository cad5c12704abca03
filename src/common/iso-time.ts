/**
 * ISO-8601 strings of the times answers repeat, by epoch milliseconds. `toISOString` costs about a microsecond, and
 * GET /auth/session formats three per call (issue 14, target 1: about 3% of its CPU) that are the same for every call
 * with the same token: its `iat` and `exp`, and the expiry of the user's Google token. Bounded: when full it starts
 * over, so a replica with more tokens in use than it holds just formats as before.
 */
const ISO_TIMES_MAX = 4096;
const isoTimes = new Map<number, string>();

/** `new Date(ms).toISOString()`, remembered (see ISO_TIMES_MAX). */
export function isoTime(ms: number): string {
  let iso = isoTimes.get(ms);
  if (iso === undefined) {
    if (isoTimes.size >= ISO_TIMES_MAX) isoTimes.clear();
    iso = new Date(ms).toISOString();
    isoTimes.set(ms, iso);
  }
  return iso;
}
