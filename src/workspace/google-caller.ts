import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { isGrantRevoked, ReauthRequiredError } from '../credentials/credentials.errors.js';
import { CredentialsService } from '../credentials/credentials.service.js';
import { GoogleClientCache, UserGoogleClient } from '../credentials/google-client.cache.js';
import type { GoogleCredentials } from '../credentials/google-credentials.js';
import { DomainError } from '../common/domain-error.js';
import { AuditLog } from '../observability/audit-log.js';
import { Metrics } from '../observability/metrics.js';
import { SessionStore } from '../sessions/session.store.js';
import { googleStatus, insufficientScope, mapGoogleApiError } from './google-api.errors.js';
import { GoogleApis, type GoogleApiName } from './google-apis.js';
import { missingScope, ScopeNeed } from '../common/google-scopes.js';
import { UserCallLimit } from './user-call-limit.js';

export interface CallOptions {
  /** False for calls that create something: a retry after a 5xx could do it twice. */
  idempotent?: boolean;
  /** What the call changes (`gmail.message.send`), for the audit trail; read-only calls have none. */
  action?: string;
  /** The id of what it changes, when there is one already. */
  target?: string;
}

/** 5xx answers are retried this many times (idempotent calls only), with exponential backoff and jitter. */
const RETRIES = 2;
const BACKOFF_MS = 200;
/** At most this many new tokens are tried after Google's 401s in one call. */
const TOKEN_ROUNDS = 2;

interface RetryPolicy {
  /** How often a 5xx is retried. */
  retries: number;
  /** Whether a connection reset is retried (once). */
  retryReset: boolean;
}

/** True when the connection to Google broke before an answer came (ECONNRESET, "socket hang up", undici's "other side closed"). */
export function isConnectionReset(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === 'ECONNRESET' || e.code === 'UND_ERR_SOCKET' || e.code === 'EPIPE') return true;
    if (typeof e.message === 'string' && /socket hang up|ECONNRESET|other side closed/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Runs Google API calls as a verified user: checks the granted scopes first, uses the user's cached client, refreshes
 * once when Google says 401 (single-flight per user), retries 5xx twice with backoff, and maps what is left to an
 * error the caller can act on. A dead grant ends the user's sessions everywhere. Each call holds one of the user's
 * WORKSPACE_CALLS_PER_USER slots from before its credentials are read until it ends, however it ends; a call beyond
 * them waits its turn, within the bounds UserCallLimit sets, or is refused with 429.
 */
@Injectable()
export class GoogleCaller {
  constructor(
    private readonly credentials: CredentialsService,
    private readonly clients: GoogleClientCache,
    private readonly sessions: SessionStore,
    private readonly metrics: Metrics,
    private readonly audit: AuditLog,
    private readonly apis: GoogleApis,
    private readonly limit: UserCallLimit,
  ) {}

  /**
   * Calls `fn` with the user's client for `api`; `need` names the scopes the call requires. A call with an `action`
   * changes the user's Workspace and goes into the audit trail, done or failed.
   */
  async call<T>(email: string, api: GoogleApiName, need: ScopeNeed, fn: (user: UserGoogleClient) => Promise<T>, opts: CallOptions = {}): Promise<T> {
    // The slot covers the refresh and its S3 writes too: a user whose calls all wait on a slow refresh still has
    // them in flight. A refused change is audited as failed, as any other change that did not happen.
    const limited = () => this.limit.run(email, api, () => this.run(email, api, need, fn, opts));
    if (!opts.action) return limited();
    const detail = { action: opts.action, ...(opts.target ? { target: opts.target } : {}) };
    try {
      const result = await limited();
      this.audit.record({ event: 'workspace_change', outcome: 'success', user: email, detail });
      return result;
    } catch (err) {
      const status = err instanceof DomainError ? err.status : 500;
      this.audit.record({ event: 'workspace_change', outcome: status === 403 ? 'denied' : 'failure', user: email, detail: { ...detail, status } });
      throw err;
    }
  }

  /**
   * Like `call`, for a read whose answer streams on after `fn` returned (a Drive download): the user's slot is held
   * until the stream `streamOf` picks from the result closes, at most `maxHoldMs`.
   */
  async callStreaming<T>(email: string, api: GoogleApiName, need: ScopeNeed, fn: (user: UserGoogleClient) => Promise<T>, streamOf: (result: T) => Readable, maxHoldMs: number): Promise<T> {
    return this.limit.runStreaming(email, api, () => this.run(email, api, need, fn, {}), streamOf, maxHoldMs);
  }

  private async run<T>(email: string, api: GoogleApiName, need: ScopeNeed, fn: (user: UserGoogleClient) => Promise<T>, opts: CallOptions): Promise<T> {
    const policy: RetryPolicy = { retries: opts.idempotent === false ? 0 : RETRIES, retryReset: !opts.action };
    try {
      let creds: GoogleCredentials = await this.credentials.getValid(email);
      // The bearer carries the scope (TokenScopeGuard), so the grant may have it too: a sign-in on another replica
      // adds scopes to S3 while this replica's copy lags. One S3 read, on this path only, before answering 403.
      if (missingScope(need, creds.scopes)) creds = await this.credentials.getValidFromS3(email);
      const missing = missingScope(need, creds.scopes);
      if (missing) throw insufficientScope(missing);
      const loading = this.apis.ready(api); // the API's library, on the first call to it (google-apis.ts)
      if (loading) await loading;
      let refreshed = false;
      for (let round = 0; ; round++) {
        try {
          return await this.withRetries(api, policy, () => fn(this.clients.forUser(creds)));
        } catch (err) {
          if (googleStatus(err) !== 401) throw mapGoogleApiError(err, api, need, opts.action !== undefined);
        }
        if (refreshed || round >= TOKEN_ROUNDS) break;
        // The first round may hand out a token another replica stored; if Google rejects that one too, the next
        // round refreshes for real. A 401 is answered reauth_required only after a token fresh from Google failed.
        creds = await this.credentials.refreshRejected(email, creds.token);
        refreshed = this.credentials.refreshedHere(creds.token);
      }
    } catch (err) {
      // The token endpoint refused the grant and S3 confirmed it: it is gone, so is every session built on it.
      // Sessions created after the failing refresh started come from a new sign-in and stay.
      // This is also what sends an OAuth client (an MCP client) to authorize again, rather than around a loop of fresh
      // tokens that fail: each refresh family is bound to one of these sessions, so once it has ended the client's
      // next request is 401 invalid_token (the bearer guard) and its refresh token invalid_grant (the token endpoint,
      // which reads the session from S3), and the new authorization signs the person in with Google again. Chosen over
      // checking at every refresh that the user still has Google credentials: that costs an S3 read per refresh (the
      // credentials cache is per replica and would still say yes for minutes after another replica deleted them),
      // where ending the sessions costs S3 calls only here, once per dead grant, none on the warm path, and is seen by
      // every replica through S3 (at once by the token endpoint, within SESSION_CACHE_TTL_MS by the bearer guard).
      if (isGrantRevoked(err)) await this.sessions.endAllForUser(email, err.sessionsBefore ?? new Date());
      throw err;
    }
    // Refreshes worked but the API still says 401. The caller has to send the user through sign-in again; the
    // grant itself was just honoured, so the sessions stay (a transient Google fault must not log everyone out).
    throw new ReauthRequiredError("Google rejects this user's access even after a token refresh.", undefined, true);
  }

  /**
   * Retries Google's 5xx answers (never 4xx, never timeouts: a hung call retried would multiply the wait), and a
   * connection reset once for read-only calls (a call that changes something may have been applied before the
   * connection broke).
   */
  private async withRetries<T>(api: string, policy: RetryPolicy, fn: () => Promise<T>): Promise<T> {
    let resetRetried = !policy.retryReset;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.timed(api, fn);
      } catch (err) {
        if (!resetRetried && isConnectionReset(err)) {
          resetRetried = true;
          attempt--;
          continue;
        }
        const status = googleStatus(err);
        if (status === undefined || status < 500 || attempt >= policy.retries) throw err;
        await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  private async timed<T>(api: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let outcome = 'ok';
    try {
      return await fn();
    } catch (err) {
      outcome = String(googleStatus(err) ?? 'network');
      throw err;
    } finally {
      this.metrics.googleApiDuration.observe({ api: api.toLowerCase(), outcome }, (performance.now() - started) / 1000);
    }
  }
}
