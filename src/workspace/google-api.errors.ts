import { DomainError, UpstreamError } from '../common/domain-error.js';
import { recommendedScope, ScopeNeed } from '../common/google-scopes.js';
import { tooLargeAnswerIn } from '../credentials/google-answer-limit.js';

type GoogleErrorBody = { error?: { status?: string; message?: string; errors?: Array<{ reason?: string }> } };
type GaxiosLike = {
  status?: unknown;
  code?: unknown;
  response?: { status?: unknown; headers?: unknown; data?: GoogleErrorBody | string };
};

/** HTTP status of an error thrown by a googleapis client, if Google answered (never one of our own DomainErrors). */
export function googleStatus(err: unknown): number | undefined {
  if (err instanceof DomainError) return undefined;
  const e = err as GaxiosLike;
  const s = e?.response?.status ?? e?.status ?? e?.code;
  return typeof s === 'number' ? s : typeof s === 'string' && /^\d{3}$/.test(s) ? Number(s) : undefined;
}

/** Google's machine-readable reason (insufficientPermissions, rateLimitExceeded, notFound, ...). */
function googleReason(err: unknown): string | undefined {
  const data = errorBody((err as GaxiosLike)?.response?.data)?.error;
  return data?.errors?.[0]?.reason ?? data?.status;
}

/**
 * Google's error as an object. A streamed call's (a Drive download's) comes as the text gaxios read, unparsed; it
 * holds at most ERROR_BODY_MAX_BYTES (google-answer-limit.ts), so parsing it costs little.
 */
function errorBody(data: GoogleErrorBody | string | undefined): GoogleErrorBody | undefined {
  if (typeof data !== 'string') return data;
  try {
    const parsed = JSON.parse(data) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as GoogleErrorBody) : undefined;
  } catch {
    return undefined; // not JSON (a proxy's error page): the status alone is mapped
  }
}

function header(err: unknown, name: string): string | undefined {
  const headers = (err as GaxiosLike)?.response?.headers;
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const v = (headers as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** IMF-fixdate, the HTTP-date form RFC 9110 has senders use: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Google's Retry-After as whole seconds, the form our header, message and MCP `retryAfter` promise: delay-seconds as
 * they are, an HTTP-date as the seconds until then (at least 1), and anything else (what a proxy between us and
 * Google may put there) never passed on: 30, as when Google names no wait.
 */
function retryAfterSeconds(value: string | undefined, now = Date.now()): string {
  const v = value?.trim() ?? '';
  if (/^\d{1,9}$/.test(v)) return String(Number(v));
  if (HTTP_DATE.test(v) && Number.isFinite(Date.parse(v))) return String(Math.max(1, Math.ceil((Date.parse(v) - now) / 1000)));
  return '30';
}

/** The 403 that names the scope to grant and how (incremental authorization: sign in again asking for it). */
export function insufficientScope(scope: string, grantedButRefused = false): DomainError {
  const what = grantedButRefused ? 'Google refused the request: it needs the Google scope' : 'This needs the Google scope';
  return new DomainError(403, 'insufficient_scope', `${what} ${scope}, which this user has not granted. Add it to GOOGLE_SCOPES and have the user sign in again at /auth/google to grant it.`, {}, { scope });
}

/**
 * Maps a Google API failure to an error the caller can act on; Google's raw messages are not passed through. `change`:
 * the call was meant to change something (its answer lost does not mean nothing changed).
 */
export function mapGoogleApiError(err: unknown, api: string, need: ScopeNeed, change = false): DomainError {
  if (err instanceof DomainError) return err;
  const tooLarge = tooLargeAnswerIn(err);
  if (tooLarge) return answerTooLarge(api, tooLarge.limitBytes, change);
  const status = googleStatus(err);
  const reason = googleReason(err);
  if (status === 429 || reason === 'rateLimitExceeded' || reason === 'userRateLimitExceeded' || reason === 'RESOURCE_EXHAUSTED') {
    const retryAfter = retryAfterSeconds(header(err, 'retry-after'));
    return new DomainError(429, 'rate_limited', `Google's ${api} rate limit was reached. Retry after ${retryAfter} seconds.`, { 'Retry-After': retryAfter });
  }
  if (status === 403 && (reason === 'insufficientPermissions' || reason === 'ACCESS_TOKEN_SCOPE_INSUFFICIENT' || reason === 'PERMISSION_DENIED')) {
    return insufficientScope(recommendedScope(need), true);
  }
  if (status === 403) return new DomainError(403, 'forbidden', `Google does not allow this ${api} request for this user. Check that the resource is theirs.`);
  if (status === 404) return new DomainError(404, 'not_found', `Google found no such ${api} resource. Check the id and retry.`);
  if (status === 400) return new DomainError(400, 'bad_request', `Google rejected the ${api} request parameters. Check them and retry.`);
  if (status === 409) return new DomainError(409, 'conflict', `Google reports a conflict for this ${api} request (it may exist already).`);
  return new UpstreamError(`Google's ${api} API failed or could not be reached${status ? ` (${status})` : ''}. Retry in a few seconds.`, 'google_unavailable');
}

/** The 502 for an answer larger than GOOGLE_MAX_ANSWER_BYTES: a retry would get the same answer, so it says how to ask for less. */
function answerTooLarge(api: string, limit: number, change: boolean): UpstreamError {
  const what = `Google's ${api} answer is larger than ${megabytes(limit)}, the most one answer may hold here (GOOGLE_MAX_ANSWER_BYTES), so it was not read.`;
  const next = change ? 'The change may have been made: check before you retry it.' : 'Ask for less (a smaller page size or fewer fields), or have the operators raise GOOGLE_MAX_ANSWER_BYTES.';
  return new UpstreamError(`${what} ${next}`, 'google_answer_too_large');
}

/**
 * The same 502 for a call whose answers together pass GOOGLE_MAX_ANSWER_BYTES (a Gmail batch: each message within
 * the limit, all of them held at once past it): it says to ask for fewer at a time.
 */
export function answersTooLarge(api: string, limit: number, what: string): UpstreamError {
  return new UpstreamError(
    `Google's ${api} answers to this request together hold more than ${megabytes(limit)}, the most one answer may hold here (GOOGLE_MAX_ANSWER_BYTES), so they were not passed on. Ask for fewer ${what} at a time, or have the operators raise GOOGLE_MAX_ANSWER_BYTES.`,
    'google_answer_too_large',
  );
}

function megabytes(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
}

/**
 * The 502 for a Google answer of a shape its API does not document: a read can simply be retried; a change may have
 * been made at Google before its answer came back.
 */
export function unreadableAnswer(api: string, readOnly: boolean): UpstreamError {
  const what = `Google's ${api} API answered in a shape its documentation does not describe, so the answer cannot be passed on.`;
  const next = readOnly ? 'Retry in a few seconds; if it keeps failing, tell the operators the time of the request.' : 'The change may have been made: check before you retry it.';
  return new UpstreamError(`${what} ${next}`, 'google_unavailable');
}
