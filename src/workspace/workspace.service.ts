import { Injectable } from '@nestjs/common';
import { calendar } from '@googleapis/calendar';
import { drive } from '@googleapis/drive';
import { gmail } from '@googleapis/gmail';
import { AppConfig } from '../config/app-config.js';
import { Metrics } from '../observability/metrics.js';
import { isGrantRevoked } from '../credentials/credentials.errors.js';
import { CredentialsService } from '../credentials/credentials.service.js';
import { GoogleClientCache, UserGoogleClient } from '../credentials/google-client.cache.js';
import type { GoogleCredentials } from '../credentials/google-credentials.js';
import { SessionStore } from '../sessions/session.store.js';
import { googleStatus, mapGoogleApiError } from './google-api.errors.js';
import type { CalendarEventsQuery, DriveFilesQuery, GmailMessagesQuery } from './workspace.queries.js';

/**
 * Google Workspace calls acting as the signed-in user. Every method takes the verified caller's email (the guards
 * ran before); credentials and clients are looked up by that email only.
 */
@Injectable()
export class WorkspaceService {
  private readonly apiOptions: { rootUrl: string; timeout: number };

  constructor(
    private readonly credentials: CredentialsService,
    private readonly clients: GoogleClientCache,
    private readonly sessions: SessionStore,
    private readonly metrics: Metrics,
    config: AppConfig,
  ) {
    const g = config.values.google;
    this.apiOptions = { rootUrl: g.apiRootUrl, timeout: g.httpTimeoutMs };
  }

  /** Gmail messages matching `q`. */
  async listMessages(email: string, query: GmailMessagesQuery) {
    const data = await this.call(email, 'Gmail', async (user) => {
      const api = user.api('gmail', (auth) => gmail({ version: 'v1', auth, ...this.apiOptions }));
      return (await api.users.messages.list({ userId: 'me', q: query.q, maxResults: query.maxResults, pageToken: query.pageToken })).data;
    });
    return { messages: data.messages ?? [], nextPageToken: data.nextPageToken ?? null, resultSizeEstimate: data.resultSizeEstimate ?? 0 };
  }

  /** Drive files matching `q`. */
  async listFiles(email: string, query: DriveFilesQuery) {
    const data = await this.call(email, 'Drive', async (user) => {
      const api = user.api('drive', (auth) => drive({ version: 'v3', auth, ...this.apiOptions }));
      return (await api.files.list({ q: query.q, pageSize: query.pageSize, pageToken: query.pageToken })).data;
    });
    return { files: data.files ?? [], nextPageToken: data.nextPageToken ?? null };
  }

  /** Calendar events in a time window. */
  async listEvents(email: string, query: CalendarEventsQuery) {
    const data = await this.call(email, 'Calendar', async (user) => {
      const api = user.api('calendar', (auth) => calendar({ version: 'v3', auth, ...this.apiOptions }));
      const { calendarId, timeMin, timeMax, pageToken, maxResults } = query;
      return (await api.events.list({ calendarId, timeMin, timeMax, pageToken, maxResults, singleEvents: true })).data;
    });
    return { events: data.items ?? [], nextPageToken: data.nextPageToken ?? null };
  }

  /**
   * Runs one Google call with fresh credentials. A 401 from Google means the access token died early (revoked
   * session at Google, clock skew): refresh once (single-flight per user) and retry. A dead grant ends the
   * user's sessions everywhere, so no bearer keeps pointing at credentials that are gone.
   */
  private async call<T>(email: string, api: string, call: (user: UserGoogleClient) => Promise<T>): Promise<T> {
    const fn = (user: UserGoogleClient) => this.timed(api, () => call(user));
    try {
      let creds: GoogleCredentials = await this.credentials.getValid(email);
      try {
        return await fn(this.clients.forUser(creds));
      } catch (err) {
        if (googleStatus(err) !== 401) throw mapGoogleApiError(err, api);
      }
      creds = await this.credentials.refreshRejected(email, creds.token);
      try {
        return await fn(this.clients.forUser(creds));
      } catch (err) {
        throw mapGoogleApiError(err, api);
      }
    } catch (err) {
      if (isGrantRevoked(err)) await this.sessions.endAllForUser(email);
      throw err;
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
