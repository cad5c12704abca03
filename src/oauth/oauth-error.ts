import { DomainError } from '../common/domain-error.js';

/** RFC 6749 section 5.2 error codes (plus RFC 8707's invalid_target). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable';

/**
 * An OAuth protocol error. The exception filter answers it with RFC 6749's `error` and `error_description`, plus
 * the service's own `statusCode` and `message`, so OAuth libraries and people both read it.
 */
export class OAuthError extends DomainError {
  constructor(
    readonly code: OAuthErrorCode,
    description: string,
    status = code === 'invalid_client' ? 401 : 400,
    headers: Record<string, string> = code === 'invalid_client' ? { 'WWW-Authenticate': 'Basic realm="oauth"' } : {},
    details: Record<string, string | number> = {},
  ) {
    super(status, code, description, headers, details);
  }

  override get oauth(): boolean {
    return true;
  }
}

/**
 * A failure of the service itself (S3 or Google unreachable: a 5xx domain error) at an OAuth endpoint that answers
 * JSON (token, revocation, introspection, registration), in RFC 6749's error shape: `temporarily_unavailable` with the
 * same status, guidance and Retry-After, the service's own code kept as `reason`. OAuth clients decide from `error` whether to retry or to start over: the MCP TypeScript SDK (1.x, in
 * many clients) reads any code it does not know as `server_error` and answers a failed refresh with a new
 * authorization in the person's browser, so an S3 incident would have sent every connected application's users
 * through consent again, while `temporarily_unavailable` makes it report the error and keep its refresh token for the
 * next attempt. A 500 (a bug of ours) stays `server_error`; 4xx errors are the client's and keep their codes.
 */
export function asOAuthUnavailable(err: unknown): unknown {
  if (!(err instanceof DomainError) || err.oauth || err.status < 500) return err;
  const code = err.status === 500 ? 'server_error' : 'temporarily_unavailable';
  return new OAuthError(code, err.message, err.status, err.headers, { ...err.details, reason: err.error });
}
