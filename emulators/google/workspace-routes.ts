import type { ServerResponse } from 'node:http';
import type { FailureInjector } from './failures.js';
import { AccessTokenInfo, ApiCall, GoogleState } from './google-state.js';
import { apiError, bearer, EmulatorRequest, json, unauthenticated } from './http-util.js';
import { allowsApi, Api, gmailCanSearch } from './scopes.js';
import { gmailMessages, Kind, offsetOf, pageTokenFor } from './workspace-data.js';
import { calendarApi } from './workspace-api/calendar-api.js';
import { docsApi } from './workspace-api/docs-api.js';
import { driveApi } from './workspace-api/drive-api.js';
import { DriveStore } from './workspace-api/drive-store.js';
import { gmailApi } from './workspace-api/gmail-api.js';
import { peopleApi } from './workspace-api/people-api.js';
import { sheetsApi } from './workspace-api/sheets-api.js';
import { WorkspaceStore } from './workspace-api/store.js';
import { tasksApi } from './workspace-api/tasks-api.js';

const PREFIXES: Record<string, Api> = {
  '/gmail/v1/': 'gmail',
  '/drive/v3/': 'drive',
  '/upload/drive/v3/': 'drive',
  '/calendar/v3/': 'calendar',
  '/tasks/v1/': 'tasks',
  '/v1/documents': 'docs',
  '/v4/spreadsheets': 'sheets',
  '/v1/people': 'people',
};
// RFC 3339 with a zone offset: Calendar refuses timeMin/timeMax without one.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Stops a handler: the answer was already sent. */
class Answered extends Error {}

/** The Workspace API calls the service makes (paths as googleapis builds them from rootUrl). */
export class WorkspaceRoutes {
  /** Mutable per-user content for the routes beyond the lists (workspace-api/). */
  readonly store = new WorkspaceStore();
  /** Each user's Drive: plain files, folders, and the Docs and Sheets the Docs and Sheets APIs work on. */
  readonly drive = new DriveStore();

  constructor(
    private readonly state: GoogleState,
    private readonly failures: FailureInjector,
  ) {}

  /** Which API a path belongs to, if any. */
  static apiOf(path: string): Api | undefined {
    const prefix = Object.keys(PREFIXES).find((p) => path.startsWith(p));
    return prefix ? PREFIXES[prefix] : undefined;
  }

  /** Answers one API request and records it in apiCalls (with whose token it came, and what it was answered). */
  handle(req: EmulatorRequest, res: ServerResponse, api: Api): void {
    const token = bearer(req);
    const call: ApiCall = { email: this.state.accessTokenInfo(token)?.email ?? '', api, method: req.method, path: req.url.pathname, query: req.url.search.slice(1), status: 0 };
    this.state.apiCalls.push(call);
    try {
      this.answer(req, res, api, token);
    } catch (err) {
      if (!(err instanceof Answered)) throw err;
    } finally {
      call.status = res.headersSent ? res.statusCode : 0;
    }
  }

  private answer(req: EmulatorRequest, res: ServerResponse, api: Api, token: string | undefined): void {
    const path = req.url.pathname;
    const gmail = /^\/gmail\/v1\/users\/([^/]+)\/messages$/.exec(path);
    const calendar = /^\/calendar\/v3\/calendars\/([^/]+)\/events$/.exec(path);
    const isList = req.method === 'GET' && (gmail || calendar);
    if (this.failures.apply('api', res)) return;
    const user = this.state.liveAccessToken(token);
    if (!user) return unauthenticated(res);
    if (!allowsApi(api, user.scopes)) {
      return apiError(res, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'insufficientPermissions');
    }
    if (!isList) {
      const handled =
        api === 'drive' ? driveApi(req, res, user, this.drive)
        : api === 'docs' ? docsApi(req, res, user, this.drive)
        : api === 'sheets' ? sheetsApi(req, res, user, this.drive)
        : api === 'people' ? peopleApi(req, res, user)
        : { gmail: gmailApi, calendar: calendarApi, tasks: tasksApi }[api](req, res, user, this.store);
      if (!handled) apiError(res, 404, 'NOT_FOUND', 'Not Found', 'notFound');
      return;
    }
    const q = req.url.searchParams;
    if (gmail) return this.gmail(res, user, decodeURIComponent(gmail[1]), q);
    return this.calendar(res, user, decodeURIComponent((calendar as RegExpExecArray)[1]), q);
  }

  private gmail(res: ServerResponse, user: AccessTokenInfo, userId: string, q: URLSearchParams): void {
    // Gmail lets a token reach its own mailbox only ("me" or the address); anything else is delegation.
    if (userId !== 'me' && userId.toLowerCase() !== user.email) {
      return apiError(res, 403, 'PERMISSION_DENIED', `Delegation denied for ${user.email}`, 'forbidden');
    }
    if (q.get('q') && !gmailCanSearch(user.scopes)) {
      return apiError(res, 403, 'PERMISSION_DENIED', "Metadata scope does not support 'q' parameter", 'forbidden');
    }
    const all = gmailMessages(user.email);
    const page = this.page(res, user.email, 'm', all, q, 'maxResults', 100, 500);
    json(res, 200, { messages: page.items, ...(page.next ? { nextPageToken: page.next } : {}), resultSizeEstimate: all.length });
  }


  private calendar(res: ServerResponse, user: AccessTokenInfo, calendarId: string, q: URLSearchParams): void {
    // The user's own calendar only; Google answers 404 for calendars the token cannot see.
    if (calendarId !== 'primary' && calendarId.toLowerCase() !== user.email) return apiError(res, 404, 'NOT_FOUND', 'Not Found', 'notFound');
    const bound = (name: string): number | undefined => {
      const v = q.get(name);
      if (v === null) return undefined;
      if (!RFC3339.test(v)) this.badRequest(res, 'Bad Request', 'badRequest');
      return Date.parse(v);
    };
    const min = bound('timeMin');
    const max = bound('timeMax');
    if (min !== undefined && max !== undefined && min >= max) this.badRequest(res, 'The specified time range is empty.', 'timeRangeEmpty');
    // Calendar's window: events ending after timeMin and starting before timeMax.
    const events = [...this.store.calendar(user.email).values()].filter(
      (e) => (min === undefined || Date.parse(e.end.dateTime) > min) && (max === undefined || Date.parse(e.start.dateTime) < max),
    );
    const page = this.page(res, user.email, 'e', events, q, 'maxResults', 250, 2500);
    json(res, 200, {
      kind: 'calendar#events',
      summary: user.email,
      timeZone: 'UTC',
      items: page.items,
      ...(page.next ? { nextPageToken: page.next } : {}),
    });
  }

  /** One page of a list, with the page size parameter's default and maximum as Google applies them. */
  private page<T>(res: ServerResponse, email: string, kind: Kind, items: T[], q: URLSearchParams, sizeParam: string, def: number, max: number): { items: T[]; next?: string } {
    const rawSize = q.get(sizeParam);
    const size = rawSize === null ? def : Number(rawSize);
    if (!Number.isInteger(size) || size < 1) this.badRequest(res, `Invalid value '${rawSize}' for ${sizeParam}.`, 'invalid');
    const token = q.get('pageToken');
    const offset = token ? offsetOf(email, kind, token) : 0;
    if (offset === undefined) this.badRequest(res, 'Invalid page token.', 'invalid');
    const start = offset as number;
    const end = start + Math.min(size, max);
    return { items: items.slice(start, end), next: end < items.length ? pageTokenFor(email, kind, end) : undefined };
  }

  /** Answers 400 and ends the handler, from however deep in it the bad parameter was found. */
  private badRequest(res: ServerResponse, message: string, reason: string): never {
    apiError(res, 400, 'INVALID_ARGUMENT', message, reason);
    throw new Answered();
  }
}
