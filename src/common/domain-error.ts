/**
 * Every failure a service can explain to a caller. Services throw these; the one exception filter
 * (`DomainExceptionFilter`) maps `status`/`error` to HTTP. `message` always tells the caller what to do next.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Machine-readable facts for the caller, added to the body (e.g. `scope` to grant). */
    readonly details: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** True for OAuth protocol errors, whose body also carries RFC 6749's `error_description`. */
  get oauth(): boolean {
    return false;
  }
}

/** 400: the request is malformed; the message names the field and how to fix it. */
export class BadRequestError extends DomainError {
  constructor(message: string, error = 'bad_request') {
    super(400, error, message);
  }
}

/** 401: no valid bearer, or the Google grant is gone (`reauth_required`). */
export class UnauthorizedError extends DomainError {
  constructor(message: string, error = 'unauthorized', headers: Record<string, string> = { 'WWW-Authenticate': 'Bearer' }) {
    super(401, error, message, headers);
  }
}

/** 403: authenticated but not allowed. */
export class ForbiddenError extends DomainError {
  constructor(message: string, error = 'forbidden') {
    super(403, error, message);
  }
}

/** 502: an upstream (Google) failed; nothing was lost and the call can be retried. */
export class UpstreamError extends DomainError {
  constructor(message: string, error = 'upstream_error') {
    super(502, error, message);
  }
}

/** 503: a dependency of ours (S3) is unavailable or misconfigured. */
export class DependencyUnavailableError extends DomainError {
  constructor(message: string, error = 'storage_unavailable') {
    super(503, error, message);
  }
}
