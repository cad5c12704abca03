/*
 * Drive's private file properties (`appProperties`) as files.create and files.update take them: string values, at
 * most 124 bytes of key and value together in UTF-8 and 30 properties per application on a file (Drive's "Add
 * custom file properties" guide); in an update, a null value removes its key and keys left out stay as they were.
 */

export const MAX_PROPERTY_BYTES = 124;
export const MAX_APP_PROPERTIES = 30;

/** The properties a create or update leaves on a file, or the reason Drive refuses the input (a 400). */
export type PropertiesResult = { ok: true; properties: Record<string, string> | undefined } | { ok: false; message: string };

/**
 * `current` with `input` applied: a create passes no `current`, and a null value is then refused as any other
 * non-string is. Undefined `input` leaves `current` as it is.
 */
export function applyAppProperties(current: Record<string, string> | undefined, input: unknown, update: boolean): PropertiesResult {
  if (input === undefined) return { ok: true, properties: current };
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { ok: false, message: 'Invalid value for appProperties: an object of string values is expected.' };
  const next: Record<string, string> = { ...(current ?? {}) };
  for (const [key, value] of Object.entries(input)) {
    if (value === null && update) {
      delete next[key];
      continue;
    }
    if (typeof value !== 'string') return { ok: false, message: `Invalid value for appProperties.${key}: a string is expected.` };
    if (Buffer.byteLength(key + value, 'utf8') > MAX_PROPERTY_BYTES) {
      return { ok: false, message: `The property ${key} is too large: key and value may take ${MAX_PROPERTY_BYTES} bytes together.` };
    }
    next[key] = value;
  }
  if (Object.keys(next).length > MAX_APP_PROPERTIES) return { ok: false, message: `A file may carry at most ${MAX_APP_PROPERTIES} private properties of one application.` };
  return { ok: true, properties: Object.keys(next).length ? next : undefined };
}
