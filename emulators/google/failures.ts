import type { ServerResponse } from 'node:http';
import { apiError, oauthError, unauthenticated, userinfoUnauthenticated } from './http-util.js';

export const ENDPOINTS = ['token', 'refresh', 'userinfo', 'revoke', 'api'] as const;
export const FAILURES = ['timeout', 'server_error', 'invalid_grant', 'rate_limit', 'insufficient_permissions', 'not_found'] as const;
/** `token` is the code exchange, `refresh` the refresh_token grant (both at POST /token), `api` any Workspace route. */
export type Endpoint = (typeof ENDPOINTS)[number];
export type Failure = (typeof FAILURES)[number];

export function isEndpoint(v: unknown): v is Endpoint {
  return (ENDPOINTS as readonly unknown[]).includes(v);
}
export function isFailure(v: unknown): v is Failure {
  return (FAILURES as readonly unknown[]).includes(v);
}

/**
 * One-shot failures the tests ask for. Each endpoint has a queue, so two failNext calls fail the next two calls.
 * A `timeout` leaves the request unanswered until the client gives up (that is what the service's own timeouts
 * must handle); stop() releases whatever still hangs so the test run can exit.
 */
export class FailureInjector {
  private readonly queues = new Map<Endpoint, Failure[]>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly holds = new Map<Endpoint, Array<{ arrived: () => void; released: Promise<void> }>>();
  private readonly releases = new Set<() => void>();

  /**
   * Holds the endpoint's next call before Google looks at it, until `release()`: lets a test order two replicas'
   * requests exactly (say, one refresh reaches Google only after another replica's refresh was answered and stored).
   */
  holdNext(endpoint: Endpoint): { arrived: Promise<void>; release(): void } {
    if (!isEndpoint(endpoint)) throw new TypeError(`unknown endpoint "${String(endpoint)}"; use one of ${ENDPOINTS.join(', ')}`);
    let arrived!: () => void;
    let release!: () => void;
    const arrival = new Promise<void>((r) => (arrived = r));
    const released = new Promise<void>((r) => (release = r));
    this.releases.add(release);
    this.holds.set(endpoint, [...(this.holds.get(endpoint) ?? []), { arrived, released }]);
    return { arrived: arrival, release };
  }

  /** Waits while a test holds this call (see holdNext); resolves at once otherwise. */
  async gate(endpoint: Endpoint): Promise<void> {
    const hold = this.holds.get(endpoint)?.shift();
    if (!hold) return;
    hold.arrived();
    await hold.released;
  }

  schedule(endpoint: Endpoint, failure: Failure): void {
    if (!isEndpoint(endpoint)) throw new TypeError(`unknown endpoint "${String(endpoint)}"; use one of ${ENDPOINTS.join(', ')}`);
    if (!isFailure(failure)) throw new TypeError(`unknown failure "${String(failure)}"; use one of ${FAILURES.join(', ')}`);
    this.queues.set(endpoint, [...(this.queues.get(endpoint) ?? []), failure]);
  }

  /** Answers with the next queued failure of the endpoint, if any, and says which it was. */
  apply(endpoint: Endpoint, res: ServerResponse): Failure | undefined {
    const failure = this.queues.get(endpoint)?.shift();
    if (!failure) return undefined;
    if (failure === 'timeout') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res)); // the client gave up: nothing left to release
    } else if (failure === 'server_error') {
      serverError(endpoint, res);
    } else if (failure === 'rate_limit') {
      // Google's per-user quota answer; Retry-After tells the client when to come back.
      apiError(res, 429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for quota metric', 'rateLimitExceeded', { 'retry-after': '7' });
    } else if (failure === 'insufficient_permissions') {
      // Google's own scope refusal, for when the caller's scope check passed but Google wants more.
      apiError(res, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'insufficientPermissions');
    } else if (failure === 'not_found') {
      apiError(res, 404, 'NOT_FOUND', 'Requested entity was not found.', 'notFound');
    } else {
      rejectedGrant(endpoint, res);
    }
    return failure;
  }

  /** Drops every hanging request (their clients see the connection close). */
  releaseAll(): void {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    for (const release of this.releases) release();
    this.releases.clear();
  }
}

/** 503 in the shape the endpoint uses for errors. */
function serverError(endpoint: Endpoint, res: ServerResponse): void {
  if (endpoint === 'api' || endpoint === 'userinfo') {
    apiError(res, 503, 'UNAVAILABLE', 'The service is currently unavailable.', 'backendError');
  } else {
    oauthError(res, 503, 'server_error', 'The service is currently unavailable.');
  }
}

/** The endpoint's own way of saying "this grant or token is no good any more". */
function rejectedGrant(endpoint: Endpoint, res: ServerResponse): void {
  if (endpoint === 'api') unauthenticated(res);
  else if (endpoint === 'userinfo') userinfoUnauthenticated(res);
  else if (endpoint === 'revoke') oauthError(res, 400, 'invalid_token', 'Token expired or revoked');
  else oauthError(res, 400, 'invalid_grant', 'Token has been expired or revoked.');
}
