import { z } from 'zod';

/** A Google resource id: Google's id alphabet only, so nothing else reaches a Google URL path. */
export const googleId = z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be a Google id (letters, digits, "_" and "-")');

/** A list of email addresses (for To, Cc, Bcc, attendees). */
export const emailList = z.array(z.email({ message: 'must be an email address' })).max(100);

/** An ISO 8601 date-time with a zone. */
export const isoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone, e.g. 2026-01-31T09:00:00Z' });

/** Drive's partial-response syntax for a file (`id,name,owners(emailAddress)`): names, commas, parentheses, slashes. */
export const driveFields = z.string().max(1024).regex(/^[A-Za-z0-9_,()/*. ]+$/, 'must be a Drive fields selector like id,name,mimeType');
