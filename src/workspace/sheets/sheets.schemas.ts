import { z } from 'zod';
import { notDotSegment } from '../ids.js';

// A1 notation: `Sheet1!A1:C10`, `'My sheet'!A:B`, `Sheet1`, `A1:B2` (first sheet).
const SHEET = String.raw`(?:'(?:[^'\x00-\x1f]|'')+'|[A-Za-z0-9_.\- ]+)`;
const CELL = String.raw`(?:[A-Za-z]{1,3}[0-9]{0,7}|[0-9]{1,7})`;
const AREA = `${CELL}(?::${CELL})?`;
const A1 = new RegExp(`^(?:${SHEET}(?:!${AREA})?|${AREA})$`);

/** A range in A1 notation. It becomes a segment of the Sheets URL path, so a sheet named ".." is refused. */
export const a1Range = z
  .string()
  .max(300)
  .regex(A1, "must be a range in A1 notation, e.g. Sheet1!A1:C10 or 'My sheet'!A:B")
  .refine(...notDotSegment);

const cell = z.union([z.string().max(50_000), z.number(), z.boolean(), z.null()]);
const MAX_CELLS = 50_000;
const rows = z
  .array(z.array(cell).max(18_278))
  .min(1, 'give at least one row')
  .max(10_000)
  .refine((r) => r.reduce((n, row) => n + row.length, 0) <= MAX_CELLS, `must hold at most ${MAX_CELLS} cells per request`);

/**
 * How Sheets reads the values. RAW by default: USER_ENTERED would turn a caller's text that starts with "=" into a
 * formula (IMPORTXML, HYPERLINK, ...), which must be asked for, not happen by accident.
 */
const valueInput = z.enum(['RAW', 'USER_ENTERED']).default('RAW');

/** Query of `GET .../sheets/spreadsheets/{id}/values`. */
export const readRangeQuery = z.strictObject({
  range: a1Range,
  render: z.enum(['FORMATTED_VALUE', 'UNFORMATTED_VALUE', 'FORMULA']).default('FORMATTED_VALUE'),
});
export type ReadRangeQuery = z.infer<typeof readRangeQuery>;

/** Body of `PUT .../values` (write a range) and `POST .../values/append` (append rows after a table). */
export const writeRangeBody = z.strictObject({ range: a1Range, values: rows, valueInputOption: valueInput });
export type WriteRangeBody = z.infer<typeof writeRangeBody>;

/** Body of `POST .../sheets/spreadsheets`. */
export const newSpreadsheetBody = z.strictObject({
  title: z.string().min(1).max(1024),
  sheets: z.array(z.string().min(1).max(100).regex(/^[^'!\x00-\x1f]+$/, 'must be a sheet title without quotes or "!"')).max(50).optional(),
});
export type NewSpreadsheetBody = z.infer<typeof newSpreadsheetBody>;
