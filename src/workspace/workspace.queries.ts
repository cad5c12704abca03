import { z } from 'zod';
import { calendarId, driveFields, pageToken as googlePageToken } from './ids.js';

const pageToken = googlePageToken.optional();
const searchQuery = z.string().max(2048, 'must be at most 2048 characters').optional();
const isoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, e.g. 2026-01-31T09:00:00Z' }).optional();

/** `GET /v1/users/{userId}/gmail/messages` */
export const gmailMessagesQuery = z.strictObject({
  q: searchQuery,
  maxResults: z.coerce.number({ message: 'must be a number' }).int().min(1).max(500).optional(),
  pageToken,
});
export type GmailMessagesQuery = z.infer<typeof gmailMessagesQuery>;

/** `GET /v1/users/{userId}/drive/files` */
export const driveFilesQuery = z.strictObject({
  q: searchQuery,
  pageSize: z.coerce.number({ message: 'must be a number' }).int().min(1).max(1000).optional(),
  pageToken,
  /** Fields of each file (Drive's syntax), e.g. `id,name,mimeType,modifiedTime`. */
  fields: driveFields.optional().describe('Fields of each file, e.g. id,name,mimeType,modifiedTime'),
});
export type DriveFilesQuery = z.infer<typeof driveFilesQuery>;

/** `GET /v1/users/{userId}/calendar/events` */
export const calendarEventsQuery = z
  .strictObject({
    calendarId: calendarId.default('primary'),
    timeMin: isoDateTime,
    timeMax: isoDateTime,
    pageToken,
    maxResults: z.coerce.number({ message: 'must be a number' }).int().min(1).max(2500).optional(),
  })
  .refine((v) => !v.timeMin || !v.timeMax || Date.parse(v.timeMin) < Date.parse(v.timeMax), {
    path: ['timeMax'],
    message: 'must be after timeMin',
  });
export type CalendarEventsQuery = z.infer<typeof calendarEventsQuery>;
