/**
 * Sign-in failures that leave a refresh token Google has just issued unstored (S3 refused, stalled, or lost the
 * answer of the credentials write). Google gives a known user a new refresh token only on a consent screen; asked
 * again without prompt=consent it sends none, and the person's retry would then keep whatever S3 still holds, which
 * may be the dead token this one replaced (a grant removed at Google and given again). The callback therefore tells
 * that browser's next sign-in to ask for consent (FlowReplies.askConsentNext).
 *
 * The errors themselves stay as they are (the exception filter maps them: S3's 503 names S3); they are only noted.
 */
const unstored = new WeakSet<object>();

/** Notes that `err` ended a sign-in whose new refresh token may not be in S3; returns `err` for rethrowing. */
export function markRefreshTokenUnstored(err: unknown): unknown {
  if (err && typeof err === 'object') unstored.add(err);
  return err;
}

/** True when `err` was noted by markRefreshTokenUnstored. */
export function leftRefreshTokenUnstored(err: unknown): boolean {
  return Boolean(err && typeof err === 'object' && unstored.has(err));
}
