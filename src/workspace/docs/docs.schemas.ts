import { z } from 'zod';

/** Body of `POST .../docs/documents`. */
export const newDocumentBody = z.strictObject({
  title: z.string().min(1).max(1024),
  /** Optional first content, inserted as plain text. */
  text: z.string().max(500_000).optional(),
});
export type NewDocumentBody = z.infer<typeof newDocumentBody>;

/** Body of `POST .../docs/documents/{documentId}/replace`. */
export const replaceTextBody = z.strictObject({
  find: z.string().min(1, 'must not be empty').max(10_000),
  replace: z.string().max(10_000),
  matchCase: z.boolean().default(true),
});
export type ReplaceTextBody = z.infer<typeof replaceTextBody>;
