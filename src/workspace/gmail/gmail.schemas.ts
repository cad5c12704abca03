import { z } from 'zod';
import { emailList, googleId } from '../ids.js';

const noLineBreaks = (field: string) => z.string().max(998).refine((v) => !/[\r\n]/.test(v), `${field} must be a single line`);

/** Body of `POST .../gmail/messages` (send) and `POST .../gmail/drafts`. */
export const outgoingMailBody = z
  .strictObject({
    to: emailList.min(1, 'needs at least one recipient'),
    cc: emailList.optional(),
    bcc: emailList.optional(),
    subject: noLineBreaks('subject'),
    text: z.string().max(1_000_000).optional(),
    html: z.string().max(1_000_000).optional(),
    threadId: googleId.optional(),
    inReplyTo: noLineBreaks('inReplyTo').regex(/^<[^<>\s]+>$/, 'must be a Message-ID like <id@host>').optional(),
  })
  .refine((v) => v.text !== undefined || v.html !== undefined, { path: ['text'], message: 'text or html is required' });
export type OutgoingMailBody = z.infer<typeof outgoingMailBody>;

/** Body of `POST .../gmail/messages/{id}/labels`. */
export const labelChangeBody = z
  .strictObject({ add: z.array(googleId).max(100).default([]), remove: z.array(googleId).max(100).default([]) })
  .refine((v) => v.add.length + v.remove.length > 0, { path: ['add'], message: 'add or remove at least one label' });
export type LabelChangeBody = z.infer<typeof labelChangeBody>;

/** Query of `GET .../gmail/messages/batch`. */
export const batchQuery = z.strictObject({
  ids: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(googleId).min(1, 'give 1 to 50 comma separated ids').max(50, 'give at most 50 ids')),
});
export type BatchQuery = z.infer<typeof batchQuery>;
