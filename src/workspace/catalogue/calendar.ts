import { z } from 'zod';
import { calendarQuery, eventPatchBody, freeBusyBody, newEventBody } from '../calendar/calendar.schemas.js';
import { googleId } from '../ids.js';
import { calendarEventsQuery } from '../workspace.queries.js';
import { CREATE, DELETE, READ, UPDATE, type WorkspaceOperation } from './operation.js';
import { deleted, list, page, resource } from './outputs.js';

// Creating, changing or cancelling an event with attendees sends them Google's invitations and notices.
const INVITES = { openWorldHint: true };

/** Calendar operations. */
export const CALENDAR_OPERATIONS: WorkspaceOperation[] = [
  {
    tool: 'list_calendars',
    api: 'calendar',
    title: 'List calendars',
    description: "The user's calendars with their ids (\"primary\" is the user's own).",
    http: { method: 'GET', path: 'calendar/calendars' },
    output: list('calendars'),
    scope: 'calendarList',
    hints: READ,
    tier: 'core',
    run: (s, email) => s.calendar.listCalendars(email),
  },
  {
    tool: 'get_events',
    api: 'calendar',
    title: 'List calendar events',
    description: 'Events of a calendar (default "primary") in a time window (ISO 8601 timeMin/timeMax with a zone), recurring events expanded, in start order.',
    http: { method: 'GET', path: 'calendar/events' },
    query: calendarEventsQuery,
    output: page('events'),
    scope: 'calendarRead',
    hints: READ,
    tier: 'core',
    run: (s, email, i) => s.workspace.listEvents(email, i as never),
  },
  {
    tool: 'get_event',
    api: 'calendar',
    title: 'Get a calendar event',
    description: 'One event by id.',
    http: { method: 'GET', path: 'calendar/events/:eventId' },
    params: { eventId: googleId },
    query: calendarQuery,
    output: resource,
    scope: 'calendarRead',
    hints: READ,
    tier: 'core',
    run: (s, email, i) => s.calendar.getEvent(email, i.calendarId, i.eventId),
  },
  {
    tool: 'create_event',
    api: 'calendar',
    title: 'Create a calendar event',
    description: 'Creates an event; start and end as ISO 8601 with a zone, or in Google\'s shape ({"dateTime","timeZone"} or {"date"} for all-day); attendees get invitations.',
    http: { method: 'POST', path: 'calendar/events' },
    query: calendarQuery,
    body: newEventBody,
    output: resource,
    scope: 'calendarWrite',
    hints: { ...CREATE, ...INVITES },
    tier: 'core',
    run: (s, email, { calendarId, ...body }) => s.calendar.createEvent(email, calendarId, body as never),
  },
  {
    tool: 'modify_event',
    api: 'calendar',
    title: 'Change a calendar event',
    description: 'Changes the given fields of an event; the others stay as they are.',
    http: { method: 'PATCH', path: 'calendar/events/:eventId' },
    params: { eventId: googleId },
    query: calendarQuery,
    body: eventPatchBody,
    output: resource,
    scope: 'calendarWrite',
    hints: { ...UPDATE, ...INVITES },
    tier: 'core',
    run: (s, email, { calendarId, eventId, ...body }) => s.calendar.updateEvent(email, calendarId, eventId, body as never),
  },
  {
    tool: 'delete_event',
    api: 'calendar',
    title: 'Delete a calendar event',
    description: 'Deletes an event (attendees are told it is cancelled).',
    http: { method: 'DELETE', path: 'calendar/events/:eventId' },
    params: { eventId: googleId },
    query: calendarQuery,
    output: deleted,
    scope: 'calendarWrite',
    hints: { ...DELETE, ...INVITES },
    tier: 'core',
    async run(s, email, i) {
      await s.calendar.deleteEvent(email, i.calendarId, i.eventId);
      return { deleted: true };
    },
  },
  {
    tool: 'query_freebusy',
    api: 'calendar',
    title: 'Query free/busy',
    description: 'Busy intervals of calendars (default "primary") in a time window.',
    http: { method: 'POST', path: 'calendar/freebusy' },
    body: freeBusyBody,
    output: z.looseObject({ timeMin: z.string(), timeMax: z.string(), calendars: z.record(z.string(), resource) }),
    scope: 'calendarFreeBusy',
    hints: READ,
    tier: 'extended',
    run: (s, email, i) => s.calendar.freeBusy(email, i as never),
  },
];
