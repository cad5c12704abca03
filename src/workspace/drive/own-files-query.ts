import { DomainError } from '../../common/domain-error.js';
import { MARKER_KEY } from '../app-files/app-file-marker.js';
import { QUOTE_READINGS, readQuery } from './content-terms.js';

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
 * A Drive search `q` held to the files an OAuth client created: the client's mark ANDed to it,
 * `(q) and appProperties has { key='wsbCreatedBy' and value='<mark>' }`. The caller's query stays inside its
 * parentheses only if it closes every literal and pairs every bracket in either reading of its quotes
 * (QUOTE_READINGS); otherwise `true) or (true` would end the group early and OR every file of the user back in. Such
 * a query is refused with 400 before anything reaches Google.
 */
export function ownFilesQuery(q: string | undefined, marker: string): string {
  const mark = `appProperties has { key='${MARKER_KEY}' and value='${marker}' }`;
  if (q === undefined || !q.trim()) return mark;
  if (!QUOTE_READINGS.every((quotes) => {
    const read = readQuery(q, quotes);
    return read.closed && selfContained(read.code);
  })) {
    throw new DomainError(
      400,
      'invalid_request',
      "q must close every string literal and pair its parentheses and braces outside them: this token reaches only the files this application created, and the service adds that condition to q with \"and\". Quote literals with ' (a quote inside one as \\'), use no \\ outside them, and send q again.",
    );
  }
  return `(${q}) and ${mark}`;
}
