import { Injectable, Logger } from '@nestjs/common';
import { isJsonObject } from '../common/json-object.js';
import { LazyImport } from '../common/lazy-import.js';
import { AppConfig } from '../config/app-config.js';
import { GoogleUnavailableError, ReauthRequiredError } from './credentials.errors.js';
import { consumeBytes, readAtMost, TOKEN_ANSWER_MAX_BYTES } from './google-answer-limit.js';
import { tokenLifetimeSeconds } from './token-lifetime.js';
import type { googleFetch } from './google-transport.js';

type GoogleFetch = typeof googleFetch;

/**
 * The revoke's transport, the one under the Workspace clients (google-transport.ts), imported with the first revoke
 * so it stays out of the boot (test/build/boot-imports.spec.ts). A failed import makes the revoke report Google
 * unconfirmed (a 503 to retry).
 */
const revokeTransport = new LazyImport('Revocation at Google', () => import('./google-transport.js'), (err) =>
  new Logger('GoogleTokenClient').error({ msg: 'the revoke transport failed to load', error: (err as Error)?.name, detail: (err as Error)?.message }),
);

/** What Google's revocation endpoint said about a token (GoogleTokenClient.revoke). */
export type RevokeAnswer = 'revoked' | 'unknown' | 'unconfirmed';

export interface RefreshedToken {
  accessToken: string;
  expiresAt: Date;
  scopes?: string[];
  /** Google usually omits it on refresh; when present it replaces the stored one. */
  refreshToken?: string;
}

/**
 * Google confirms a revocation with a 200 and an empty body or a JSON object. Another 2xx body (a captive portal's
 * page) is not Google's confirmation: the credentials must stay until Google has really dropped the grant.
 */
function isRevocationConfirmed(body: string): boolean {
  const text = body.trim();
  if (!text) return true;
  try {
    return isJsonObject(JSON.parse(text));
  } catch {
    return false;
  }
}

/**
 * The token endpoint's answer as a JSON object; {} when it is not one, or is larger than a token answer can be (read
 * whole, it could exhaust the heap: google-answer-limit.ts).
 */
async function tokenAnswer(res: Response): Promise<Record<string, unknown>> {
  try {
    const parsed = await consumeBytes('json', await readAtMost(res.body, TOKEN_ANSWER_MAX_BYTES), null);
    return isJsonObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * Google's token and revocation endpoints. Written on fetch rather than google-auth-library because the service
 * must tell `invalid_grant` (delete the credentials) from timeouts and 5xx (delete nothing) and bound every call
 * with its own timeout; the library retries and folds those cases into one error type.
 */
@Injectable()
export class GoogleTokenClient {
  /** The revoke's fetch, built once the transport is loaded. */
  private revokeFetch?: GoogleFetch;

  constructor(private readonly config: AppConfig) {}

  /** Exchanges a refresh token for a new access token. invalid_grant -> ReauthRequiredError; else GoogleUnavailableError. */
  async refresh(refreshToken: string): Promise<RefreshedToken> {
    const g = this.config.values.google;
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: g.clientId,
      client_secret: g.clientSecret,
    });
    let res: Response;
    try {
      res = await fetch(g.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        // Never followed: a redirect would replay the refresh token and the client secret to another origin. The 3xx
        // is answered as Google being unavailable, and nothing is deleted (test/e2e/google-redirects.e2e.spec.ts).
        redirect: 'manual',
        signal: AbortSignal.timeout(g.httpTimeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error)?.name === 'TimeoutError';
      throw new GoogleUnavailableError(timedOut ? `Google's token endpoint did not answer within ${g.httpTimeoutMs} ms.` : `Google's token endpoint is unreachable.`);
    }
    const json = await tokenAnswer(res);
    if (res.ok && typeof json.access_token === 'string') {
      return {
        accessToken: json.access_token,
        expiresAt: new Date(Date.now() + tokenLifetimeSeconds(json.expires_in) * 1000),
        scopes: typeof json.scope === 'string' ? json.scope.split(/\s+/).filter(Boolean) : undefined,
        refreshToken: typeof json.refresh_token === 'string' && json.refresh_token ? json.refresh_token : undefined,
      };
    }
    if (res.status === 400 && json.error === 'invalid_grant') {
      throw new ReauthRequiredError('Google no longer accepts this user\'s grant (revoked or expired).');
    }
    throw new GoogleUnavailableError(`Google's token endpoint answered ${res.status}${json.error ? ` (${String(json.error)})` : ''}.`);
  }

  /**
   * Revokes a token (and with it the user's whole grant) at Google: 'revoked' when Google confirmed; 'unknown' when
   * it answered 400 invalid_token (it no longer knows the token: revoked already, or rotated away by a refresh,
   * whose successor may still be live); 'unconfirmed' when Google could not be reached, timed out (the request is
   * aborted, its socket closed) or failed otherwise.
   *
   * On the Workspace clients' transport and deadlines (googleFetch with GoogleDeadlines) rather than Node's fetch
   * with AbortSignal.timeout: 240 against 620 µs of CPU per call in Node 20, and the revoke waits for this call
   * before it can answer.
   */
  async revoke(token: string): Promise<RevokeAnswer> {
    const g = this.config.values.google;
    try {
      const { GoogleDeadlines } = await revokeTransport.load();
      this.revokeFetch ??= new GoogleDeadlines(g.httpTimeoutMs, undefined, TOKEN_ANSWER_MAX_BYTES).fetch();
      const res = await this.revokeFetch(g.revokeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        // A string: this fetch cannot write a URLSearchParams body (it throws outside the returned promise).
        body: new URLSearchParams({ token }).toString(),
      });
      if (res.ok) return isRevocationConfirmed(await res.text()) ? 'revoked' : 'unconfirmed';
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      return res.status === 400 && json.error === 'invalid_token' ? 'unknown' : 'unconfirmed';
    } catch {
      return 'unconfirmed';
    }
  }
}
