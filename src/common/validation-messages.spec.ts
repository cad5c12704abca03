import { z } from 'zod';
import { ZodValidationPipe } from './zod-validation.pipe.js';
import { PARSE_OPTIONS, safeParseForMessages } from './validation-messages.js';
import { WORKSPACE_CATALOGUE } from '../workspace/catalogue/catalogue.js';
import { validateInput } from '../workspace/catalogue/operation-input.js';

function messageOf(schema: z.ZodType, value: unknown, type: 'body' | 'query' = 'body'): string {
  try {
    new ZodValidationPipe(schema).transform(value, { type, data: undefined });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a validation failure');
}

describe('validation messages name the field and the rule', () => {
  const page = z.strictObject({ maxResults: z.coerce.number({ message: 'must be a number' }).int().min(1).max(500).optional() });

  it('states the bound of an out-of-range number, even where the schema says "must be a number"', () => {
    expect(messageOf(page, { maxResults: '501' }, 'query')).toContain('"maxResults" must be at most 500');
    expect(messageOf(page, { maxResults: '0' }, 'query')).toContain('"maxResults" must be at least 1');
    expect(messageOf(page, { maxResults: 'abc' }, 'query')).toContain('"maxResults" must be a number');
    expect(messageOf(page, { maxResults: '1.5' }, 'query')).toContain('"maxResults" must be an integer');
  });

  it('parses a valid value without the options and a failing one with them, as safeParse with PARSE_OPTIONS does', () => {
    for (const value of [{ maxResults: '5' }, {}, { maxResults: '0' }, { maxResults: 'abc', extra: 1 }, null]) {
      const quick = safeParseForMessages(page, value);
      const full = page.safeParse(value, PARSE_OPTIONS);
      expect(quick.success).toBe(full.success);
      if (quick.success && full.success) expect(quick.data).toEqual(full.data);
      // The issues of a failure carry their input (what tells a missing field from a wrong one).
      else expect(quick.error?.issues).toEqual(full.error?.issues);
    }
    expect(page.safeParse({ maxResults: 'abc' }).error?.issues[0]).not.toHaveProperty('input');
    expect(safeParseForMessages(page, { maxResults: 'abc' }).error?.issues[0]).toHaveProperty('input');
  });

  it('says a missing field is required and names an unknown field', () => {
    const mail = z.strictObject({ to: z.string(), subject: z.string().min(1), tags: z.array(z.string()).max(2).optional() });
    const message = messageOf(mail, { subject: '', body: 'x', tags: ['a', 'b', 'c'] });
    expect(message).toContain('"to" is required');
    expect(message).toContain('"subject" must not be empty');
    expect(message).toContain('"tags" must have at most 2 items');
    expect(message).toContain('unknown field "body"');
    expect(message).not.toMatch(/Invalid input|received undefined|Unrecognized key/);
  });

  it('words formats, enums and nested paths without zod defaults, and keeps our own messages', () => {
    const schema = z.strictObject({
      email: z.email(),
      status: z.enum(['needsAction', 'completed']),
      when: z.strictObject({ at: z.iso.datetime({ offset: true }) }),
      line: z.string().refine((v) => !v.includes('\n'), 'line must be a single line'),
    });
    const message = messageOf(schema, { email: 'x', status: 'done', when: { at: 'soon', extra: 1 }, line: 'a\nb' });
    expect(message).toContain('"email" must be an email address');
    expect(message).toContain('"status" must be one of "needsAction", "completed"');
    expect(message).toContain('"when.at" must be an ISO 8601 date-time');
    expect(message).toContain('unknown field "when.extra"');
    expect(message).toContain('; "line" must be a single line');
  });

  it('names the body when the body itself is not an object', () => {
    expect(messageOf(z.strictObject({ a: z.string() }), 'text')).toContain('request body must be a JSON object');
  });

  it('words MCP tool argument problems the same way as the REST routes', () => {
    const search = WORKSPACE_CATALOGUE.find((op) => op.http.method === 'GET' && op.http.path === 'gmail/messages')!;
    expect(validateInput(search, { maxResults: 501 })).toEqual({ ok: false, problems: [{ field: 'maxResults', message: 'must be at most 500' }] });
    const send = WORKSPACE_CATALOGUE.find((op) => op.http.method === 'POST' && op.http.path === 'gmail/messages')!;
    const result = validateInput(send, { subject: 'Hi', text: 'x' });
    expect(result).toEqual({ ok: false, problems: [{ field: 'to', message: 'is required' }] });
  });
});
