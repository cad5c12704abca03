import { DomainError, UpstreamError } from '../common/domain-error.js';

/** HTTP status of an error thrown by a googleapis client, if Google answered. */
export function googleStatus(err: unknown): number | undefined {
  const e = err as { status?: unknown; code?: unknown; response?: { status?: unknown } };
  const s = e?.response?.status ?? e?.status ?? e?.code;
  return typeof s === 'number' ? s : typeof s === 'string' && /^\d{3}$/.test(s) ? Number(s) : undefined;
}

/** Maps a Google API failure to an error the caller can act on; Google's raw messages are not passed through. */
export function mapGoogleApiError(err: unknown, api: string): DomainError {
  if (err instanceof DomainError) return err;
  const status = googleStatus(err);
  if (status === 403) {
    return new DomainError(403, 'insufficient_permissions', `Google refused the ${api} request: the grant lacks a scope it needs. Sign in again at /auth/google to grant it.`);
  }
  if (status === 404) return new DomainError(404, 'not_found', `Google found no such ${api} resource. Check the id and retry.`);
  if (status === 400) return new DomainError(400, 'bad_request', `Google rejected the ${api} request parameters. Check them and retry.`);
  if (status === 429) {
    const retryAfter = (err as { response?: { headers?: Record<string, string> } })?.response?.headers?.['retry-after'] ?? '30';
    return new DomainError(429, 'rate_limited', `Google's ${api} rate limit was reached. Retry after ${retryAfter} seconds.`, { 'Retry-After': String(retryAfter) });
  }
  return new UpstreamError(`Google's ${api} API failed or could not be reached${status ? ` (${status})` : ''}. Retry in a few seconds.`, 'google_unavailable');
}
