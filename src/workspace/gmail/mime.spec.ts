import { parseMail } from '../../../emulators/google/workspace-api/mime-parse.js';
import { buildRawMessage } from './mime.js';

/** The header lines of a built message, as sent (folded lines kept apart). */
const headLines = (raw: string) => Buffer.from(raw, 'base64url').toString('utf8').split('\r\n\r\n')[0].split('\r\n');
const header = (raw: string, name: string) => parseMail(raw).headers.find((h) => h.name === name)?.value;

describe('buildRawMessage headers', () => {
  const base = { from: 'me@example.com', to: ['ada@example.com'], text: 'hi' };

  it('keeps a short ASCII subject as it is', () => {
    const raw = buildRawMessage({ ...base, subject: 'Quarterly numbers' });
    expect(headLines(raw)).toContain('Subject: Quarterly numbers');
  });

  it.each([
    ['a long non-ASCII subject', '四半期の数字について、来週の会議の前にご確認ください。'.repeat(20)],
    ['998 ASCII characters without a space', 'x'.repeat(998)],
    ['mixed scripts and emoji', 'Grüße 👋🏽 – über Q3 ✓ '.repeat(40)],
  ])('folds %s into lines of at most 78 characters, and it decodes to exactly the same text', (_what, subject) => {
    const raw = buildRawMessage({ ...base, subject });
    for (const line of headLines(raw)) expect(line.length).toBeLessThanOrEqual(78);
    expect(header(raw, 'Subject')).toBe(subject);
  });

  it('folds a long recipient list after each comma, no line over 998 characters', () => {
    const to = Array.from({ length: 100 }, (_, i) => `${'a'.repeat(240)}${i}@example.com`);
    const raw = buildRawMessage({ ...base, to, cc: to.slice(0, 3), subject: 's' });
    for (const line of headLines(raw)) expect(line.length).toBeLessThanOrEqual(998);
    expect(header(raw, 'To')).toBe(to.join(', '));
    expect(header(raw, 'Cc')).toBe(to.slice(0, 3).join(', '));
  });
});
