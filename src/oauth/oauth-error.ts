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
  ) {
    super(status, code, description, headers);
  }

  override get oauth(): boolean {
    return true;
  }
}
