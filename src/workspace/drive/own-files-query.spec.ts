import { DomainError } from '../../common/domain-error.js';
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

describe("ownFilesQuery: a drive.file search held to the client's own files", () => {
  it("ANDs the client's mark to the query, inside parentheses of its own", () => {
    expect(ownFilesQuery(undefined, 'm4rk')).toBe(MARK);
    expect(ownFilesQuery('  ', 'm4rk')).toBe(MARK);
    expect(ownFilesQuery("name contains 'report'", 'm4rk')).toBe(`(name contains 'report') and ${MARK}`);
    expect(ownFilesQuery("name = 'a' or name = 'b'", 'm4rk')).toBe(`(name = 'a' or name = 'b') and ${MARK}`);
    // Brackets and quotes inside literals are text, not structure.
    expect(ownFilesQuery("name contains ')' or name contains 'it\\'s (x'", 'm4rk')).toBe(`(name contains ')' or name contains 'it\\'s (x') and ${MARK}`);
    expect(ownFilesQuery("(not name contains 'x') and (mimeType = 'text/plain')", 'm4rk')).toBe(`((not name contains 'x') and (mimeType = 'text/plain')) and ${MARK}`);
  });

  it('refuses with 400 a query that could end the group early and OR the rest of the Drive back in', () => {
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
      // Either reading of the quotes must hold: with ' alone this one leaves a literal open, and the next one with " too.
      'name = "a\') or (true"',
      'name contains \'a\' or name contains "c',
    ]) {
      const err = refusal(q);
      expect({ q, status: err?.status, error: err?.error }).toEqual({ q, status: 400, error: 'invalid_request' });
      expect(err?.message).toMatch(/^q must close every string literal and pair its parentheses/);
    }
  });
});
