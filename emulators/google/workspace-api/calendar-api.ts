import type { ServerResponse } from 'node:http';
import type { AccessTokenInfo } from '../google-state.js';
import { apiError, EmulatorRequest, json } from '../http-util.js';
import { WorkspaceStore } from './store.js';

const G = 'https://www.googleapis.com/auth/';
const WRITE = [`${G}calendar`, `${G}calendar.events`];

type EventTime = { dateTime?: string; date?: string; timeZone?: string };
type Body = Record<string, unknown> & { start?: EventTime; end?: EventTime };

/** Google's check of an EventDateTime: a date (all-day) or a dateTime, whose offset or timeZone fixes the instant. */
function timeProblem(t: EventTime | undefined, which: string): string | undefined {
  if (!t || (!t.dateTime && !t.date)) return 'Missing time.';
  if (t.dateTime && !t.timeZone && !/(Z|[+-]\d{2}:\d{2})$/i.test(t.dateTime)) return `Missing time zone definition for ${which} time.`;
  return undefined;
}

/** Calendar routes beyond the event list: calendar list, event get/insert/patch/update/delete, free/busy. */
export function calendarApi(req: EmulatorRequest, res: ServerResponse, user: AccessTokenInfo, store: WorkspaceStore): boolean {
  const path = req.url.pathname;
  const can = (scopes: string[]) => scopes.some((s) => user.scopes.includes(s));
  const denied = () => apiError(res, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'insufficientPermissions');
  const notFound = () => apiError(res, 404, 'NOT_FOUND', 'Not Found', 'notFound');
  const events = store.calendar(user.email);
  if (req.method === 'GET' && path === '/calendar/v3/users/me/calendarList') {
    json(res, 200, { kind: 'calendar#calendarList', items: [{ kind: 'calendar#calendarListEntry', id: user.email, summary: user.email, primary: true, accessRole: 'owner', timeZone: 'UTC' }] });
    return true;
  }
  if (req.method === 'POST' && path === '/calendar/v3/freeBusy') {
    const body = (req.json ?? {}) as { timeMin?: string; timeMax?: string; items?: Array<{ id: string }> };
    const min = Date.parse(body.timeMin ?? '');
    const max = Date.parse(body.timeMax ?? '');
    if (Number.isNaN(min) || Number.isNaN(max)) return apiError(res, 400, 'INVALID_ARGUMENT', 'Bad Request', 'badRequest'), true;
    const calendars: Record<string, unknown> = {};
    for (const { id } of body.items ?? []) {
      if (id !== 'primary' && id.toLowerCase() !== user.email) {
        calendars[id] = { errors: [{ domain: 'global', reason: 'notFound' }], busy: [] };
        continue;
      }
      const busy = [...events.values()]
        .filter((e) => Date.parse(e.end.dateTime) > min && Date.parse(e.start.dateTime) < max)
        .map((e) => ({ start: e.start.dateTime, end: e.end.dateTime }));
      calendars[id] = { busy };
    }
    json(res, 200, { kind: 'calendar#freeBusy', timeMin: body.timeMin, timeMax: body.timeMax, calendars });
    return true;
  }
  const m = /^\/calendar\/v3\/calendars\/([^/]+)\/events(?:\/([\w-]+))?$/.exec(path);
  if (!m) return false;
  const calendarId = decodeURIComponent(m[1]);
  if (calendarId !== 'primary' && calendarId.toLowerCase() !== user.email) return notFound(), true;
  const eventId = m[2];
  if (!eventId && req.method === 'GET') return false; // the list route
  if (req.method !== 'GET' && !can(WRITE)) return denied(), true;
  if (!eventId && req.method === 'POST') {
    const body = (req.json ?? {}) as Body;
    const problem = timeProblem(body.start, 'start') ?? timeProblem(body.end, 'end');
    if (problem) return apiError(res, 400, 'INVALID_ARGUMENT', problem, 'required'), true;
    const id = WorkspaceStore.newId();
    const event = { kind: 'calendar#event', id, status: 'confirmed', organizer: { email: user.email, self: true }, ...body, start: body.start, end: body.end } as never;
    events.set(id, event);
    json(res, 200, event);
    return true;
  }
  const existing = eventId ? events.get(eventId) : undefined;
  if (!existing) return notFound(), true;
  if (req.method === 'GET') return json(res, 200, existing), true;
  if (req.method === 'DELETE') {
    events.delete(existing.id);
    res.writeHead(204).end();
    return true;
  }
  if (req.method === 'PATCH' || req.method === 'PUT') {
    const body = (req.json ?? {}) as Body;
    const updated = { ...(req.method === 'PATCH' ? existing : { kind: 'calendar#event', id: existing.id, organizer: existing.organizer }), ...body, id: existing.id } as never;
    events.set(existing.id, updated);
    json(res, 200, updated);
    return true;
  }
  return false;
}
