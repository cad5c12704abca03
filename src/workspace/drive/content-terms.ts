import type { InputNeed } from '../input-scope.js';

/*
 * What in a Drive search or fields selector reaches the files' content rather than their metadata. The service calls
 * Google with the user's whole grant (drive.readonly by default), so Google cannot hold an OAuth client's
 * metadata-only token to its own rule (drive.metadata.readonly "strictly prohibits access to file content",
 * developers.google.com/workspace/drive/api/guides/file-metadata): the service does, with what is below.
 */

/**
 * Drive's query text outside its string literals, as read with each of `quotes` opening and closing a literal and
 * `\` escaping the next character inside one, and whether every literal was closed. An unterminated literal runs to
 * the end (Google refuses such a query).
 */
export function readQuery(q: string, quotes: string): { code: string; closed: boolean } {
  let code = '';
  let open: string | undefined;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (open === undefined) {
      if (quotes.includes(c)) open = c;
      else code += c;
    } else if (c === '\\') i++;
    else if (c === open) {
      open = undefined;
      code += ' ';
    }
  }
  return { code, closed: open === undefined };
}

/**
 * The ways of reading a query's literals: Google documents single quotes; double quotes are read as literals too,
 * so that neither reading hides what the other would see.
 */
export const QUOTE_READINGS = ["'", `'"`] as const;

/**
 * Whether `q` has a `fullText` term, which matches the text in the files' content (Drive's query reference), so a
 * metadata-only caller could use it to learn what any file contains. Read both ways (QUOTE_READINGS). Matched
 * without regard to case: refusing a spelling Google would reject costs nothing.
 */
export function searchesContent(q: string): boolean {
  return QUOTE_READINGS.some((quotes) => /\bfulltext\b/i.test(readQuery(q, quotes).code));
}

/**
 * File fields that are content, not metadata. `thumbnailLink` is a picture of the content, and Google fills it
 * "only when the requesting app can access the file's content"; `contentHints` holds the text Drive indexes
 * (`indexableText`) and a thumbnail image. The links (`webContentLink`, `exportLinks`, `webViewLink`) are not on
 * the list: they are addresses built from the file's id, and Google serves what they point to only to someone it
 * lets read the file (the user signed in at Google, or anyone for a file shared by link, which the id reaches
 * anyway). Checksums, sizes and image or video metadata are metadata by Google's own reckoning (the files resource
 * is the metadata) and stay open to such a token as they are at Google.
 */
const CONTENT_FIELDS = ['thumbnaillink', 'contenthints'];

/**
 * What a Drive fields selector (`id,owners(emailAddress),capabilities/canEdit`) asks for that is content: a content
 * field at any depth (no nested resource of a file has fields of those names, and a selector that closes more
 * parentheses than it opens could climb out of the list route's `files(...)`), or `*` among the file's own fields,
 * which includes them all. A `*` of a nested resource (`owners(*)`, `capabilities/*`) is metadata; with unbalanced
 * parentheses every `*` counts as the file's own.
 */
export function contentFields(fields: string): string[] {
  const found = new Set(fields.split(/[\s,()/.]+/).filter((name) => CONTENT_FIELDS.includes(name.toLowerCase())));
  let depth = 0;
  let lowest = 0;
  let fileLevelStar = false;
  let previous = ',';
  for (const c of fields) {
    if (c === '(') depth++;
    else if (c === ')') lowest = Math.min(lowest, --depth);
    // `capabilities/*` is every field of a nested resource; `*` or `id,*` is every field of the file.
    else if (c === '*' && depth === 0 && previous !== '/') fileLevelStar = true;
    if (c.trim()) previous = c;
  }
  const everything = lowest < 0 || depth !== 0 ? fields.includes('*') : fileLevelStar;
  return [...(everything ? ['*'] : []), ...found];
}

/**
 * The need a Drive operation's input adds to `driveRead` when it reaches content: `fullText` in `q`, or content
 * fields in `fields`. Only string values are looked at: anything else fails the operation's input schema.
 */
export function driveContentNeeds(input: Readonly<Record<string, unknown>>): InputNeed | undefined {
  if (typeof input.q === 'string' && searchesContent(input.q)) {
    return {
      need: 'driveContent',
      because: "fullText in q searches the files' content, which this token may not read: search by name or other metadata instead (e.g. name contains '...').",
    };
  }
  const asked = typeof input.fields === 'string' ? contentFields(input.fields) : [];
  if (asked.length === 0) return undefined;
  const what = asked.includes('*') ? 'every field (*), thumbnailLink among them' : asked.join(', ');
  return {
    need: 'driveContent',
    because: `fields asks for ${what}, which shows the files' content and is not for this token: ask for metadata fields only (e.g. id,name,mimeType,modifiedTime).`,
  };
}
