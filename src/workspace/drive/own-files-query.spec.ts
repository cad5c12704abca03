import { DomainError } from '../../common/domain-error.js';
import { QUOTE_READINGS, readQuery } from './content-terms.js';
import { ownFilesQuery } from './own-files-query.js';

const MARK = `appProperties has { key='wsbCreatedBy' and value='m4rk' }`;

/** The 400 a query gets, or undefined when it is wrapped. */
function refusal(q: string): DomainError | undefined {
  try {
    ownFilesQuery(q, 'm4rk');
    return undefined;
  } catch (err) {
    return err as DomainError;
  }
}

/**
 * Whether `sent`, read with `quotes` as the quotes, keeps the caller's query inside its group: every literal closed,
 * the mark's clause outside every literal, and the `(` that opens the query closed by the `)` just before the mark,
 * not earlier. Written apart from the code under test, for checking it.
 */
function heldInside(sent: string, quotes: string): boolean {
  const read = readQuery(sent, quotes);
  const tail = readQuery(`) and ${MARK}`, quotes).code;
  if (!read.closed || !read.code.startsWith('(') || !read.code.endsWith(tail)) return false;
  const inner = read.code.slice(1, read.code.length - tail.length);
  const open: string[] = [];
  for (const c of inner) {
    if (c === '(' || c === '{') open.push(c === '(' ? ')' : '}');
    else if ((c === ')' || c === '}') && open.pop() !== c) return false;
    else if (c === '\\') return false;
  }
  return open.length === 0;
}

/** Every string of `alphabet` of length 1 to `max`. */
function* strings(alphabet: string, max: number): Generator<string> {
  let level = [''];
  for (let n = 1; n <= max; n++) {
    level = level.flatMap((s) => [...alphabet].map((c) => s + c));
    yield* level;
  }
}

describe("ownFilesQuery: a drive.file search held to the client's own files", () => {
  it("ANDs the client's mark to the query, inside parentheses of its own", () => {
    expect(ownFilesQuery(undefined, 'm4rk')).toBe(MARK);
    expect(ownFilesQuery('  ', 'm4rk')).toBe(MARK);
    expect(ownFilesQuery("name contains 'report'", 'm4rk')).toBe(`(name contains 'report') and ${MARK}`);
    expect(ownFilesQuery("name = 'a' or name = 'b'", 'm4rk')).toBe(`(name = 'a' or name = 'b') and ${MARK}`);
    // Brackets and quotes inside literals are text, not structure.
    expect(ownFilesQuery("name contains ')' or name contains 'it\\'s (x'", 'm4rk')).toBe(`(name contains ')' or name contains 'it\\'s (x') and ${MARK}`);
    expect(ownFilesQuery("(not name contains 'x') and (mimeType = 'text/plain')", 'm4rk')).toBe(`((not name contains 'x') and (mimeType = 'text/plain')) and ${MARK}`);
    expect(ownFilesQuery(`name = 'say "hi"'`, 'm4rk')).toBe(`(name = 'say "hi"') and ${MARK}`);
  });

  it("accepts double-quoted literals, an apostrophe or a bracket inside them included, and sends them single-quoted: the same query for Drive, and no other way to read it", () => {
    for (const [q, sent] of [
      [`name = "a'b"`, `name = 'a\\'b'`],
      [`name = "report"`, `name = 'report'`],
      [`name contains "it's" and mimeType = 'text/plain'`, `name contains 'it\\'s' and mimeType = 'text/plain'`],
      [`name = "say \\"hi\\""`, `name = 'say "hi"'`],
      [`name = "back\\\\slash"`, `name = 'back\\\\slash'`],
      // Text that would end the group to a reader taking " for text is a name to Drive, and stays one.
      [`name = "a') or (true"`, `name = 'a\\') or (true'`],
      [`name contains "x" or (name contains "(y" and not name = "z}")`, `name contains 'x' or (name contains '(y' and not name = 'z}')`],
    ]) {
      expect({ q, sent: ownFilesQuery(q, 'm4rk') }).toEqual({ q, sent: `(${sent}) and ${MARK}` });
      for (const quotes of QUOTE_READINGS) expect({ q, quotes, held: heldInside(ownFilesQuery(q, 'm4rk'), quotes) }).toEqual({ q, quotes, held: true });
    }
  });

  it('refuses with 400, saying how to write it, a query that could end the group early and OR the rest of the Drive back in', () => {
    for (const q of [
      "x') or (true",
      "name contains 'x') or (true",
      'true) or (true',
      "name = 'a') or (name != 'a'",
      "(name = 'a'",
      "name = 'a')",
      ") or (name != '",
      "name = 'unterminated",
      "name = 'ends in a backslash\\",
      "name = \\'x') or (true",
      "appProperties has { key='k' and value='v'",
      "name = 'a' } or { name = 'b'",
      "({name = 'a')}",
      'name contains \'a\' or name contains "c',
      'name = "a") or ("b"',
      'name = "unterminated\\"',
    ]) {
      const err = refusal(q);
      expect({ q, status: err?.status, error: err?.error }).toEqual({ q, status: 400, error: 'invalid_request' });
      expect(err?.message).toMatch(/^q must close every string literal and pair its parentheses/);
      expect(err?.message).toContain(`Quote each literal with ' or " (that quote inside it as \\' or \\", a backslash as \\\\)`);
    }
  });

  it('for every short query: accepts exactly those Drive reads whole, and what it sends keeps the query inside its group in both readings of the quotes', () => {
    let accepted = 0;
    const wrong: Array<{ q: string; sent?: string; why: string }> = [];
    const check = (q: string) => {
      if (!q.trim()) return;
      const whole = readQuery(q, `'"`);
      const valid = whole.closed && heldInside(`(${whole.code}) and ${MARK}`, `'"`);
      const sent = refusal(q) ? undefined : ownFilesQuery(q, 'm4rk');
      if ((sent !== undefined) !== valid) wrong.push({ q, sent, why: valid ? 'refused a valid query' : 'accepted an invalid query' });
      if (sent === undefined) return;
      accepted++;
      for (const quotes of QUOTE_READINGS) if (!heldInside(sent, quotes)) wrong.push({ q, sent, why: `escapes its group read with ${quotes}` });
    };
    for (const q of strings(`'"\\(){}x `, 5)) check(q);
    for (const q of strings(`'"\\()x`, 6)) check(q);
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(accepted).toBeGreaterThan(1000);
  });
});
