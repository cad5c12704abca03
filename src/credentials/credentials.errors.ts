import { DomainError, UnauthorizedError, UpstreamError } from '../common/domain-error.js';

/** The user's Google grant is gone (revoked, expired, or never stored): only a new sign-in helps. */
export class ReauthRequiredError extends UnauthorizedError {
  constructor(
    /** What happened, without the next step: the MCP endpoint words the next step for an application (tool-results.ts). */
    readonly reason: string,
    /**
     * Set when the grant was found dead: the sessions created before this instant were built on it and end with
     * it. Sessions created later come from a new sign-in (a re-grant) and stay.
     */
    readonly sessionsBefore?: Date,
    /**
     * True when the user's sessions stay (Google honoured the grant but still refused the call): the caller's token
     * keeps working, so nothing will make an OAuth client authorize again by itself.
     */
    readonly sessionsStay = false,
  ) {
    super(`${reason} Sign in again at /auth/google to grant access.`, 'reauth_required');
  }
}

/** Google could not be reached or failed; nothing was deleted, the call can be retried. */
export class GoogleUnavailableError extends UpstreamError {
  constructor(what: string) {
    super(`${what} Nothing was changed; retry in a few seconds. If it persists, check https://www.google.com/appsstatus.`, 'google_unavailable');
  }
}

/** The stored credentials kept changing under a refresh (other replicas, new sign-ins): nothing was lost, retry. */
export class CredentialsBusyError extends DomainError {
  constructor() {
    super(503, 'credentials_busy', "The user's Google credentials changed several times during this request (another sign-in or replica). Nothing was lost; retry in a second.", { 'Retry-After': '1' });
  }
}

/** True when Google said the refresh token can never work again. */
export function isGrantRevoked(err: unknown): err is ReauthRequiredError {
  return err instanceof DomainError && err.error === 'reauth_required';
}
