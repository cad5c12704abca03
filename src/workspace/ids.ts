import { z } from 'zod';

/*
 * Values that end up in the path of a Google API URL. googleapis percent-encodes a path parameter (RFC 6570 simple
 * expansion), so "/" and "%" cannot split or re-encode the path, but "." and ".." are left as they are and would be
 * read as dot segments: `calendars/../events` is `events`. So every such value is checked here against the
 * alphabet Google uses for it, and never is only dots. Fastify has already decoded the request, so `%2F` arrives
 * as "/" and `%252F` as "%2F"; both fail the alphabets below.
 */

/** Google's id alphabet (base64url): Drive files, Gmail messages, threads and labels, Docs, Sheets, Tasks, events. */
const ID_ALPHABET = /^[A-Za-z0-9_-]+$/;
const ID_MESSAGE = 'must be a Google id (letters, digits, "_" and "-")';

/** Not `.` or `..`, which a URL resolver treats as "this" or "the parent" segment. */
const NOT_DOTS = (v: string) => !/^\.+$/.test(v);

/**
 * A Google resource id: Google's id alphabet only, so nothing else reaches a Google URL path. Long enough for
 * Gmail's attachment ids (several hundred characters); the alphabet, not the length, is what keeps the path safe.
 */
export const googleId = z.string().min(1, ID_MESSAGE).max(2048).regex(ID_ALPHABET, ID_MESSAGE);

/**
 * The router's limit on one path parameter (Fastify's `maxParamLength`, app.factory.ts). Fastify's default of 100
 * refused real Gmail attachment ids (and long event ids, long emails as `{userId}`) with a bare 414 before any route
 * saw them. Node already bounds the request line (16 KiB of headers), so the router passes every id on and the
 * route's own schema answers: googleId's 2048 with a 400 naming the parameter.
 */
export const MAX_PATH_PARAM_LENGTH = 16 * 1024;

/**
 * A calendar id: `primary`, or the calendar's address (`ada@example.com`, `…@group.calendar.google.com`,
 * `en.usa#holiday@group.v.calendar.google.com`). `@`, `#`, `+` and `.` are legitimate; a value of dots is not.
 */
export const calendarId = z
  .string()
  .max(320)
  .regex(/^[A-Za-z0-9_.@#+-]+$/, 'must be "primary" or a calendar id such as name@group.calendar.google.com')
  .refine(NOT_DOTS, 'must be "primary" or a calendar id, not a path segment like ".."');

/** Refinement for other values placed in a path (a Sheets range): not `.` or `..`. */
export const notDotSegment = [NOT_DOTS, 'must not be "." or ".."'] as const;

/**
 * A page token from a previous page, sent back as a query parameter (never a path). Opaque, so only its alphabet is
 * checked: base64 and base64url with padding, and "!" and "~", which Drive's tokens start with (`~!!~AI9FV7...`).
 */
export const pageToken = z.string().max(2048).regex(/^[A-Za-z0-9_\-.~=+/!]+$/, 'must be a pageToken returned by a previous page');

/** An email address, at most RFC 5321's 254 characters: it goes into a mail header or an invitation as it is. */
export const emailAddress = z.email({ message: 'must be an email address' }).max(254, 'must be an email address of at most 254 characters');

/** A list of email addresses (for To, Cc, Bcc, attendees). */
export const emailList = z.array(emailAddress).max(100);

/** An ISO 8601 date-time with a zone. */
export const isoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, e.g. 2026-01-31T09:00:00Z' });

/** True when every `(` of `s` is closed by a later `)` and no `)` closes nothing. */
function parenthesesPair(s: string): boolean {
  let depth = 0;
  for (const c of s) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/**
 * Drive's partial-response syntax for a file (`id,name,owners(emailAddress)`): names, commas, parentheses, slashes.
 * The parentheses must pair: the list route sends the selector inside `files(...)`, which an unpaired `)` would leave
 * (`id),nextPageToken,files(id`), selecting beyond the files asked about.
 */
export const driveFields = z
  .string()
  .max(1024)
  .regex(/^[A-Za-z0-9_,()/*. ]+$/, 'must be a Drive fields selector like id,name,mimeType')
  .refine(parenthesesPair, 'must have its parentheses in pairs, like owners(emailAddress)');
