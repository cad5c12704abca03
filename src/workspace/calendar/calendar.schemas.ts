import { z } from 'zod';
import { calendarId, emailList, googleId, isoDateTime } from '../ids.js';

/** Query naming the calendar of a single-event route. */
export const calendarQuery = z.strictObject({ calendarId: calendarId.default('primary') });
export type CalendarQuery = z.infer<typeof calendarQuery>;

const eventFields = {
  summary: z.string().max(1024),
  description: z.string().max(8192).optional(),
  location: z.string().max(1024).optional(),
  start: isoDateTime,
  end: isoDateTime,
  attendees: emailList.optional(),
};

/** Body of `POST .../calendar/events`. */
export const newEventBody = z.strictObject(eventFields).refine((e) => Date.parse(e.start) < Date.parse(e.end), { path: ['end'], message: 'must be after start' });
export type NewEventBody = z.infer<typeof newEventBody>;

/** Body of `PATCH .../calendar/events/{eventId}`: any of the fields. */
export const eventPatchBody = z
  .strictObject(eventFields)
  .partial()
  .refine((e) => Object.keys(e).length > 0, { message: 'change at least one field' })
  .refine((e) => !e.start || !e.end || Date.parse(e.start) < Date.parse(e.end), { path: ['end'], message: 'must be after start' });
export type EventPatchBody = z.infer<typeof eventPatchBody>;

/** Body of `POST .../calendar/freebusy`. */
export const freeBusyBody = z
  .strictObject({ timeMin: isoDateTime, timeMax: isoDateTime, calendars: z.array(calendarId).min(1).max(50).default(['primary']) })
  .refine((v) => Date.parse(v.timeMin) < Date.parse(v.timeMax), { path: ['timeMax'], message: 'must be after timeMin' });
export type FreeBusyBody = z.infer<typeof freeBusyBody>;

export { googleId };
