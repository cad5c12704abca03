import type { DriveFile } from './drive-store.js';

type Filter = (f: DriveFile) => boolean;

const STRING = String.raw`'((?:[^'\\]|\\.)*)'`;
const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** The clauses of Drive's `q` the emulator understands; each gives a filter, or undefined when it does not parse. */
const CLAUSES: Array<[RegExp, (m: RegExpExecArray) => Filter]> = [
  [new RegExp(`^name\\s+contains\\s+${STRING}$`), (m) => (f) => f.name.toLowerCase().includes(unescape(m[1]).toLowerCase())],
  [new RegExp(`^name\\s*=\\s*${STRING}$`), (m) => (f) => f.name === unescape(m[1])],
  [new RegExp(`^mimeType\\s*=\\s*${STRING}$`), (m) => (f) => f.mimeType === unescape(m[1])],
  [new RegExp(`^mimeType\\s*!=\\s*${STRING}$`), (m) => (f) => f.mimeType !== unescape(m[1])],
  [new RegExp(`^${STRING}\\s+in\\s+parents$`), (m) => (f) => f.parents.includes(unescape(m[1]))],
  [/^trashed\s*=\s*(true|false)$/, (m) => () => m[1] === 'false'],
  [
    new RegExp(`^fullText\\s+contains\\s+${STRING}$`),
    (m) => (f) => [f.name, ...(f.paragraphs ?? [])].join(' ').toLowerCase().includes(unescape(m[1]).toLowerCase()),
  ],
];

/**
 * A filter for a Drive search query: clauses from CLAUSES joined by `and`. Undefined when the query does not parse,
 * which Drive answers with 400 (the service must not pass a caller's malformed query off as an empty result).
 */
export function driveQuery(q: string): Filter | undefined {
  if (!q.trim()) return () => true;
  const filters: Filter[] = [];
  for (const clause of q.split(/\s+and\s+(?=(?:[^']*'[^']*')*[^']*$)/i)) {
    const entry = CLAUSES.map(([re, make]) => {
      const m = re.exec(clause.trim());
      return m ? make(m) : undefined;
    }).find(Boolean);
    if (!entry) return undefined;
    filters.push(entry);
  }
  return (f) => filters.every((filter) => filter(f));
}
