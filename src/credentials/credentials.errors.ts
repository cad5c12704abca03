import { DomainError, UnauthorizedError, UpstreamError } from '../common/domain-error.js';

/** The user's Google grant is gone (revoked, expired, or never stored): only a new sign-in helps. */
export class ReauthRequiredError extends UnauthorizedError {
  constructor(reason: string) {
    super(`${reason} Sign in again at /auth/google to grant access.`, 'reauth_required');
  }
}

/** Google could not be reached or failed; nothing was deleted, the call can be retried. */
export class GoogleUnavailableError extends UpstreamError {
  constructor(what: string) {
    super(`${what} Nothing was changed; retry in a few seconds. If it persists, check https://www.google.com/appsstatus.`, 'google_unavailable');
  }
}

/** True when Google said the refresh token can never work again. */
export function isGrantRevoked(err: unknown): err is ReauthRequiredError {
  return err instanceof DomainError && err.error === 'reauth_required';
}
