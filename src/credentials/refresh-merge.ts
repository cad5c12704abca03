import { CredentialsPatch, GoogleCredentials, mergeCredentials } from './google-credentials.js';

/** Refresh this long before Google's expiry so a token never dies in flight. */
export const EXPIRY_SKEW_MS = 60_000;

/** True while the access token is good for a call: present and not about to expire. */
export function unexpired(c: Pick<GoogleCredentials, 'token' | 'expiry'>, now = Date.now()): boolean {
  return Boolean(c.token && c.expiry && c.expiry.getTime() - now > EXPIRY_SKEW_MS);
}

/**
 * What a refresh writes over `current`, the version S3 holds now, once saveRefreshed has checked that it is the grant
 * the refresh continues. `replacing` is the access token the refresh started from.
 *
 * Google answers a refresh with the grant as it was when the refresh reached it. A sign-in that added scopes
 * (incremental consent: Google gives a user it knows no new refresh token, only an access token for the wider grant)
 * may have stored in between: S3 then holds another, unexpired access token with scopes the refresh's answer lacks.
 * Written over, that wider grant was gone from S3 and the replica's cache until the next refresh: calls needing the
 * new scope answered 403 insufficient_scope although the user had just granted it. So the newer access token,
 * expiry and scopes stay, and only the refresh token in use is written (S3 may hold a dead ancestor of it).
 */
export function mergeRefresh(current: GoogleCredentials | undefined, email: string, patch: CredentialsPatch, replacing: string | undefined): GoogleCredentials {
  if (current && widerGrantStoredMeanwhile(current, patch, replacing)) return mergeCredentials(current, email, { refreshToken: patch.refreshToken });
  return mergeCredentials(current, email, patch);
}

function widerGrantStoredMeanwhile(current: GoogleCredentials, patch: CredentialsPatch, replacing: string | undefined): boolean {
  // The token the refresh replaced is never kept: it expired, or Google refused it at an API.
  if (current.token === replacing || !unexpired(current)) return false;
  const answered = new Set(patch.scopes ?? []);
  return current.scopes.some((scope) => !answered.has(scope));
}
