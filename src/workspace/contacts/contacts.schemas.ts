import { z } from 'zod';

/** Query of `GET .../contacts` (People API searchContacts: prefix match on names, emails, phones). */
export const contactSearchQuery = z.strictObject({
  q: z.string().min(1, 'give the text to search for').max(200),
  pageSize: z.coerce.number({ message: 'must be a number' }).int().min(1).max(30, 'must be at most 30 (the People API limit)').default(10),
});
export type ContactSearchQuery = z.infer<typeof contactSearchQuery>;

/** A contact id: the part after `people/` of a People API resource name (`c12345`). */
export const contactId = z.string().regex(/^c?[0-9A-Za-z_-]{1,128}$/, 'must be a contact id like c1234567890');
