import { z } from 'zod';
import { calendarId, emailAddress, googleId, isoDateTime } from '../ids.js';

/** Query naming the calendar of a single-event route. */
export const calendarQuery = z.strictObject({ calendarId: calendarId.default('primary') });
export type CalendarQuery = z.infer<typeof calendarQuery>;

/** An IANA time zone name Node knows (`Europe/Paris`); Google refuses others. */
const timeZone = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone like Europe/Paris');

/**
 * When an event starts or ends, as the API responses show it (Google's EventDateTime): `{dateTime, timeZone?}` or,
 * for an all-day event, `{date}`. A date-time without an offset needs `timeZone`. A plain string is our short form
 * of `{dateTime}` and must carry its zone.
 */
const eventTime = z.union([
  isoDateTime.transform((dateTime) => ({ dateTime }) as { dateTime?: string; date?: string; timeZone?: string }),
  z
    .strictObject({
      dateTime: z.iso.datetime({ offset: true, local: true, message: 'must be an ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z or 2026-01-31T09:00:00 with timeZone' }).optional(),
      date: z.iso.date({ message: 'must be an ISO 8601 date, e.g. 2026-01-31' }).optional(),
      timeZone: timeZone.optional(),
    })
    .superRefine((t, ctx) => {
      if ((t.dateTime === undefined) === (t.date === undefined)) {
        ctx.addIssue({ code: 'custom', path: [], message: 'must have either dateTime (a timed event) or date (an all-day event)' });
      } else if (t.dateTime !== undefined && t.timeZone === undefined && !hasOffset(t.dateTime)) {
        ctx.addIssue({ code: 'custom', path: ['timeZone'], message: 'is required when dateTime has no offset (or give the offset, e.g. Z)' });
      }
    }),
]);
export type EventTime = z.output<typeof eventTime>;

/** An attendee as an email, or as Google's attendee object. */
const attendee = z.union([
  emailAddress.transform((email) => ({ email })),
  z.strictObject({ email: emailAddress, displayName: z.string().max(256).optional(), optional: z.boolean().optional() }),
]);

const eventFields = {
  summary: z.string().max(1024),
  description: z.string().max(8192).optional(),
  location: z.string().max(1024).optional(),
  start: eventTime,
  end: eventTime,
  attendees: z.array(attendee).max(100).optional(),
};

function hasOffset(dateTime: string): boolean {
  return /(Z|[+-]\d{2}:?\d{2})$/i.test(dateTime);
}

/** Why an event's end is not after its start, or undefined when it is (or when only Google can tell). */
function orderProblem(start: EventTime | undefined, end: EventTime | undefined): string | undefined {
  if (!start || !end) return undefined;
  const allDay = start.date !== undefined;
  if (allDay !== (end.date !== undefined)) return 'must be a date like start (an all-day event) or a dateTime like start, not a mix';
  const from = (start.date ?? start.dateTime)!;
  const to = (end.date ?? end.dateTime)!;
  // Local times in different zones are compared by Google; everything else can be checked here.
  const comparable = allDay || (hasOffset(from) && hasOffset(to)) || (!hasOffset(from) && !hasOffset(to) && start.timeZone === end.timeZone);
  if (!comparable) return undefined;
  const ordered = allDay || !hasOffset(from) ? from < to : Date.parse(from) < Date.parse(to);
  return ordered ? undefined : allDay ? 'must be after start (an all-day end date is exclusive: the day after the last day)' : 'must be after start';
}

/** Body of `POST .../calendar/events`: start and end as strings with a zone, or in Google's own event shape. */
export const newEventBody = z.strictObject(eventFields).superRefine((e, ctx) => {
  const problem = orderProblem(e.start, e.end);
  if (problem) ctx.addIssue({ code: 'custom', path: ['end'], message: problem });
});
export type NewEventBody = z.infer<typeof newEventBody>;

/** Body of `PATCH .../calendar/events/{eventId}`: any of the fields. */
export const eventPatchBody = z
  .strictObject(eventFields)
  .partial()
  .superRefine((e, ctx) => {
    if (Object.keys(e).length === 0) ctx.addIssue({ code: 'custom', path: [], message: 'change at least one field' });
    const problem = orderProblem(e.start, e.end);
    if (problem) ctx.addIssue({ code: 'custom', path: ['end'], message: problem });
  });
export type EventPatchBody = z.infer<typeof eventPatchBody>;

/** Body of `POST .../calendar/freebusy`. */
export const freeBusyBody = z
  .strictObject({ timeMin: isoDateTime, timeMax: isoDateTime, calendars: z.array(calendarId).min(1).max(50).default(['primary']) })
  .refine((v) => Date.parse(v.timeMin) < Date.parse(v.timeMax), { path: ['timeMax'], message: 'must be after timeMin' });
export type FreeBusyBody = z.infer<typeof freeBusyBody>;

export { googleId };
