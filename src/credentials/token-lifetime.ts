/** What a token answer without a usable `expires_in` is taken to mean (Google's tokens live an hour). */
const DEFAULT_S = 3600;
/** Shorter lifetimes are stretched to this: below the 60 s of refresh-ahead, every call would refresh again. */
const MIN_S = 300;
/** Longer lifetimes are cut to a day: past about 2.7e11 s the expiry is not even a valid Date (a 500 at sign-in). */
const MAX_S = 24 * 3600;

/**
 * The seconds an access token from Google's token endpoint is used for, from the answer's `expires_in`. Google sends
 * about 3599; anything else (a word, zero, negative, astronomically large: what a proxy or a change upstream could
 * hand over) is brought within MIN_S..MAX_S, or DEFAULT_S when it is not a positive number. Using a token longer
 * than it lives is safe: Google's 401 makes the caller refresh (GoogleCaller).
 */
export function tokenLifetimeSeconds(expiresIn: unknown): number {
  const seconds = typeof expiresIn === 'number' || typeof expiresIn === 'string' ? Number(expiresIn) : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) return DEFAULT_S;
  return Math.min(Math.max(seconds, MIN_S), MAX_S);
}
