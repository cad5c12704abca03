import { z } from 'zod';

/** A Google resource as Google names its fields (only the id-like keys are promised). */
export const resource = z.looseObject({});
/** A page of Google resources under `key`, with the token of the next page (null on the last). */
export const page = (key: string) => z.looseObject({ [key]: z.array(resource), nextPageToken: z.string().nullable() });
/** A list of Google resources under `key`. */
export const list = (key: string) => z.looseObject({ [key]: z.array(resource) });
/** What a delete answers (REST says 204 and nothing). */
export const deleted = z.strictObject({ deleted: z.literal(true) });
