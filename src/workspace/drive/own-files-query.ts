import { DomainError } from '../../common/domain-error.js';
import { MARKER_KEY } from '../app-files/app-file-marker.js';

const PAIRS: Readonly<Record<string, string>> = { ')': '(', '}': '{' };

/** Whether `code` (a query outside its literals) opens and closes its parentheses and braces in order, and has no `\`. */
function selfContained(code: string): boolean {
  // Outside a literal a backslash means nothing in Drive's grammar; a reader that took it for an escape would see
  // a literal begin somewhere else than here.
  if (code.includes('\\')) return false;
  const open: string[] = [];
  for (const c of code) {
    if (c === '(' || c === '{') open.push(c);
    else if (c in PAIRS && open.pop() !== PAIRS[c]) return false;
  }
  return open.length === 0;
}

/**
 * The body of a double-quoted literal written for single quotes: its `'` escaped, `\"` unescaped (a `"` is text
 * between single quotes), every other escape pair kept as it came, so the value Drive reads is the same.
 */
function singleQuotedBody(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      const escaped = body[++i];
      out += escaped === '"' ? '"' : `\\${escaped}`;
    } else out += c === "'" ? "\\'" : c;
  }
  return out;
}

/**
 * `q` with each double-quoted literal rewritten between single quotes, when Drive's grammar reads it as a whole
 * query: every literal, `'…'` or `"…"` (`\` escaping the next character), closed, and parentheses and braces paired
 * outside them. Undefined otherwise. Once every literal is single-quoted, a `"` is text inside one, so whether a
 * reader takes `"` for a quote or not (QUOTE_READINGS), it finds the same literals and the same brackets.
 */
function unambiguous(q: string): string | undefined {
  let out = '';
  let code = '';
  for (let i = 0; i < q.length; i++) {
    const quote = q[i];
    if (quote !== "'" && quote !== '"') {
      out += quote;
      code += quote;
      continue;
    }
    let end = i + 1;
    while (end < q.length && q[end] !== quote) end += q[end] === '\\' ? 2 : 1;
    if (end >= q.length) return undefined;
    out += quote === "'" ? q.slice(i, end + 1) : `'${singleQuotedBody(q.slice(i + 1, end))}'`;
    code += ' ';
    i = end;
  }
  return selfContained(code) ? out : undefined;
}

/**
 * A Drive search `q` held to the files an OAuth client created: the client's mark ANDed to it,
 * `(q) and appProperties has { key='wsbCreatedBy' and value='<mark>' }`. The caller's query has to stay inside its
 * parentheses, whichever way its quotes are read: `true) or (true` would end the group early and OR every file of
 * the user back in, and so would `name = "x') or (true"` to a reader that took `"` for text. So a query Drive reads
 * as a whole (every literal closed, brackets paired outside them) goes to Google with its literals single-quoted
 * (the same query for Drive); any other is refused with 400 before anything reaches Google.
 */
export function ownFilesQuery(q: string | undefined, marker: string): string {
  const mark = `appProperties has { key='${MARKER_KEY}' and value='${marker}' }`;
  if (q === undefined || !q.trim()) return mark;
  const held = unambiguous(q);
  if (held === undefined) {
    throw new DomainError(
      400,
      'invalid_request',
      "q must close every string literal and pair its parentheses and braces outside them: this token reaches only the files this application created, and the service adds that condition to q with \"and\". Quote each literal with ' or \" (that quote inside it as \\' or \\\", a backslash as \\\\), write ( ) and { } outside literals in pairs, use no \\ outside a literal, and send q again.",
    );
  }
  return `(${held}) and ${mark}`;
}
