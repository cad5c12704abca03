import { Injectable } from '@nestjs/common';
import type { calendar_v3 } from '@googleapis/calendar';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import type { EventPatchBody, FreeBusyBody, NewEventBody } from './calendar.schemas.js';

function toGoogleEvent(e: Partial<NewEventBody>): calendar_v3.Schema$Event {
  return {
    ...(e.summary !== undefined ? { summary: e.summary } : {}),
    ...(e.description !== undefined ? { description: e.description } : {}),
    ...(e.location !== undefined ? { location: e.location } : {}),
    // The schemas have already put start, end and attendees in Google's shape.
    ...(e.start ? { start: e.start } : {}),
    ...(e.end ? { end: e.end } : {}),
    ...(e.attendees ? { attendees: e.attendees } : {}),
  };
}

/** Google Calendar as the signed-in user. */
@Injectable()
export class CalendarService {
  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
  ) {}

  /** The user's calendars. */
  async listCalendars(email: string) {
    const data = await this.google.call(email, 'Calendar', 'calendarList', async (u) => (await this.apis.calendar(u).calendarList.list()).data);
    return { calendars: data.items ?? [] };
  }

  /** One event. */
  async getEvent(email: string, calendarId: string, eventId: string) {
    return this.google.call(email, 'Calendar', 'calendarRead', async (u) => (await this.apis.calendar(u).events.get({ calendarId, eventId })).data);
  }

  /** Creates an event (not retried: a retry could create it twice). */
  async createEvent(email: string, calendarId: string, body: NewEventBody) {
    return this.google.call(email, 'Calendar', 'calendarWrite', async (u) => (await this.apis.calendar(u).events.insert({ calendarId, requestBody: toGoogleEvent(body) })).data, { idempotent: false, action: 'calendar.event.create' });
  }

  /** Changes the given fields of an event. */
  async updateEvent(email: string, calendarId: string, eventId: string, body: EventPatchBody) {
    return this.google.call(email, 'Calendar', 'calendarWrite', async (u) => (await this.apis.calendar(u).events.patch({ calendarId, eventId, requestBody: toGoogleEvent(body) })).data, { action: 'calendar.event.update', target: eventId });
  }

  /** Deletes an event. */
  async deleteEvent(email: string, calendarId: string, eventId: string): Promise<void> {
    await this.google.call(email, 'Calendar', 'calendarWrite', async (u) => (await this.apis.calendar(u).events.delete({ calendarId, eventId })).data, { action: 'calendar.event.delete', target: eventId });
  }

  /** Busy intervals of calendars in a window. */
  async freeBusy(email: string, body: FreeBusyBody) {
    const data = await this.google.call(email, 'Calendar', 'calendarFreeBusy', async (u) =>
      (await this.apis.calendar(u).freebusy.query({ requestBody: { timeMin: body.timeMin, timeMax: body.timeMax, items: body.calendars.map((id) => ({ id })) } })).data,
    );
    return { timeMin: body.timeMin, timeMax: body.timeMax, calendars: data.calendars ?? {} };
  }
}
