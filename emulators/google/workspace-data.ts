import { createHash } from 'node:crypto';

/**
 * Every user's emulated Gmail, Drive and Calendar content. It is derived from the email (no storage), so it is the
 * same in every test and every process, and each user's ids and names differ: a test can tell whose data it got.
 */
export const ITEMS_PER_USER = 5;

export type Kind = 'm' | 'f' | 'e';

const tagOf = (email: string, kind: string) => createHash('sha256').update(`${kind}:${email}`).digest('hex').slice(0, 12);

/** Ids of a user's messages (m), files (f) or events (e), in list order. */
export function userItemIds(email: string, kind: Kind): string[] {
  const tag = tagOf(email, kind);
  return Array.from({ length: ITEMS_PER_USER }, (_, i) => `${kind}${tag}${i}`);
}

export function gmailMessages(email: string) {
  return userItemIds(email, 'm').map((id) => ({ id, threadId: `t${id.slice(1)}` }));
}

const MIME_TYPES = ['application/vnd.google-apps.document', 'application/pdf', 'text/plain', 'application/vnd.google-apps.spreadsheet'];

export function driveFiles(email: string) {
  return userItemIds(email, 'f').map((id, i) => ({ kind: 'drive#file', id, name: `${email} file ${i}`, mimeType: MIME_TYPES[i % MIME_TYPES.length] }));
}

/** One event a day at 09:00 UTC from today on, so "upcoming events" windows find them in a local run too. */
export function calendarEvents(email: string) {
  const today = new Date();
  const at = (day: number, hour: number) => new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + day, hour)).toISOString();
  return userItemIds(email, 'e').map((id, i) => ({
    kind: 'calendar#event',
    id,
    status: 'confirmed',
    summary: `${email} event ${i}`,
    start: { dateTime: at(i, 9) },
    end: { dateTime: at(i, 10) },
    organizer: { email, self: true },
  }));
}

/**
 * Opaque page tokens bound to the user and the list: another user's token, or a made-up one, is rejected like
 * Google rejects a foreign page token, instead of silently serving page one.
 */
export function pageTokenFor(email: string, kind: Kind, offset: number): string {
  return Buffer.from(`${offset}:${tagOf(email, `page-${kind}`)}`).toString('base64url');
}

/** The offset a page token stands for; undefined when the token is not this user's for this list. */
export function offsetOf(email: string, kind: Kind, token: string): number | undefined {
  const [offset, tag] = Buffer.from(token, 'base64url').toString('utf8').split(':');
  return /^\d+$/.test(offset ?? '') && tag === tagOf(email, `page-${kind}`) ? Number(offset) : undefined;
}
