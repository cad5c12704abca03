import type { core, ZodSafeParseResult, ZodType } from 'zod';

type Issue = core.$ZodIssue & { input?: unknown };

/** Parse options that let the messages below tell a missing field from a wrong one. */
export const PARSE_OPTIONS = { reportInput: true } as const;

/**
 * `schema.safeParse(value, PARSE_OPTIONS)`, with the options paid for only when the value fails: a valid value is
 * parsed without them (they change only the issues, never the data). Why: zod copies any options it is given into a
 * new context object (`{ ...options, async: false }`), and on Node 20 a spread followed by another property takes
 * V8's slow path, about 1 µs, and the context's reads after it 1 µs more: 2.3 µs against 0.1 µs for the Gmail
 * query, on every validated request (BENCHMARKS.md, 2026-12-07). A failing value is parsed again with the options,
 * so its issues carry their input as before.
 */
export function safeParseForMessages<T>(schema: ZodType<T>, value: unknown): ZodSafeParseResult<T> {
  const quick = schema.safeParse(value);
  return quick.success ? quick : schema.safeParse(value, PARSE_OPTIONS);
}

/**
 * One sentence per zod issue that names the field and the rule (`"maxResults" must be at most 500`, `"to" is required`,
 * `unknown field "body"`). zod's defaults ("Invalid input: expected string, received undefined") name neither, and a
 * schema-level message such as `z.coerce.number({ message: 'must be a number' })` is also attached by zod to the
 * range checks of that schema, so bounds are always worded here from the issue's own facts.
 */
export function describeIssues(issues: readonly core.$ZodIssue[], whole: { name: string; isField: boolean }): string[] {
  return issues.flatMap((issue) => describeIssue(issue as Issue, whole));
}

function describeIssue(issue: Issue, whole: { name: string; isField: boolean }): string[] {
  const fallbackField = whole.name;
  const field = fieldName(issue.path, fallbackField);
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length ? `${fieldName(issue.path, '')}.` : '';
    return issue.keys.map((key) => `unknown field "${prefix}${key}" (remove it)`);
  }
  const rule = ruleOf(issue);
  // A rule about the whole body ("change at least one field") reads on its own; the body itself is not a field.
  if (!issue.path.length && !whole.isField && issue.code === 'custom') return [rule];
  const named = issue.path.length || whole.isField ? `"${field}"` : field;
  // A custom message may already start with the field's name ("subject must be a single line").
  return [rule.startsWith(`${field} `) ? `${named}${rule.slice(field.length)}` : `${named} ${rule}`];
}

/** The rule one issue broke, without the field's name ("must be at most 500", "is required"). */
export function issueRule(issue: core.$ZodIssue): string {
  return issue.code === 'unrecognized_keys' ? `has unknown fields ${issue.keys.join(', ')}` : ruleOf(issue as Issue);
}

function ruleOf(issue: Issue): string {
  switch (issue.code) {
    case 'too_big':
      return ownBound(issue.message) ? issue.message : boundRule('at most', issue.maximum, issue.inclusive, issue.origin);
    case 'too_small':
      if (ownBound(issue.message)) return issue.message;
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return 'must not be empty';
      return boundRule('at least', issue.minimum, issue.inclusive, issue.origin);
    case 'invalid_type':
      if ('input' in issue && issue.input === undefined) return 'is required';
      // `int` fails as a type; a schema-level "must be a number" would hide that the value must be whole.
      if (isDefault(issue.message) || issue.expected === 'int') return `must be ${article(typeName(issue.expected))}`;
      return issue.message;
    case 'invalid_value':
      return isDefault(issue.message) ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` : issue.message;
    case 'invalid_format':
      return isDefault(issue.message) ? `must be ${article(formatName(issue.format))}` : issue.message;
    case 'not_multiple_of':
      return isDefault(issue.message) ? `must be a multiple of ${String(issue.divisor)}` : issue.message;
    case 'invalid_union': {
      if (!isDefault(issue.message)) return issue.message;
      // zod reports the options' own issues when one option fits the value's type; here none did.
      const kinds = issue.errors.flatMap((option) => option.filter((i) => i.code === 'invalid_type' && i.path.length === 0).map((i) => typeName((i as { expected: string }).expected)));
      return kinds.length === issue.errors.length ? `must be ${[...new Set(kinds)].map(article).join(' or ')}` : 'does not match any of the accepted shapes (see /docs)';
    }
    default:
      return issue.message;
  }
}

/** zod's English defaults start with "Invalid", "Too", "Expected" or "Unrecognized"; ours are lower-case rules. */
function isDefault(message: string): boolean {
  return /^(Invalid|Too (big|small)|Expected|Unrecognized)\b/.test(message);
}

/**
 * Our own wording of a bound states a number ("at most 5242880 bytes once decoded", where the check counts base64
 * characters): kept. A schema-level type message ("must be a number") states none: replaced.
 */
function ownBound(message: string): boolean {
  return !isDefault(message) && /\d/.test(message);
}

function boundRule(word: 'at most' | 'at least', bound: unknown, inclusive: boolean | undefined, origin: string): string {
  const n = String(bound);
  const comparison = inclusive === false ? (word === 'at most' ? `less than ${n}` : `more than ${n}`) : `${word} ${n}`;
  if (origin === 'string') return `must be ${comparison} characters long`;
  if (origin === 'array' || origin === 'set') return `must have ${comparison} items`;
  if (origin === 'file') return `must be ${comparison} bytes`;
  return `must be ${comparison}`;
}

/** The field's path as the existing clients and tests know it (`attendees.0`). */
function fieldName(path: readonly PropertyKey[], fallback: string): string {
  return path.map(String).join('.') || fallback;
}

function typeName(expected: string): string {
  const names: Record<string, string> = { int: 'integer', nan: 'number', array: 'list (JSON array)', object: 'JSON object' };
  return names[expected] ?? expected;
}

function formatName(format: string): string {
  const names: Record<string, string> = {
    email: 'email address',
    datetime: 'ISO 8601 date-time with a zone, e.g. 2026-01-31T09:00:00Z',
    date: 'ISO 8601 date, e.g. 2026-01-31',
    url: 'URL',
    regex: 'value in the documented format (see /docs)',
  };
  return names[format] ?? `${format} value`;
}

function article(noun: string): string {
  return /^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}
