import { z, type ZodType } from 'zod';
import type { OperationInput, WorkspaceOperation } from './operation.js';
import { issueRule, safeParseForMessages } from '../../common/validation-messages.js';

/** One problem with a tool's arguments, named by field. */
export interface InputProblem {
  field: string;
  message: string;
}

export type InputResult = { ok: true; input: OperationInput } | { ok: false; problems: InputProblem[] };

/** The fields of an operation's input: path parameters, then query, then body fields, each with its schema. */
function fields(op: WorkspaceOperation): Array<[string, ZodType, 'params' | 'query' | 'body']> {
  return [
    ...Object.entries(op.params ?? {}).map(([k, s]) => [k, s, 'params'] as [string, ZodType, 'params']),
    ...Object.entries(op.query?.shape ?? {}).map(([k, s]) => [k, s as ZodType, 'query'] as [string, ZodType, 'query']),
    ...Object.entries(op.body?.shape ?? {}).map(([k, s]) => [k, s as ZodType, 'body'] as [string, ZodType, 'body']),
  ];
}

/**
 * The operation's input as one flat object schema (what an MCP client sends as tool arguments), in JSON Schema.
 * Only for describing: validation goes through the REST schemas themselves (validateInput), refinements included.
 */
export function inputJsonSchema(op: WorkspaceOperation): Record<string, unknown> {
  const shape = Object.fromEntries(fields(op).map(([k, s]) => [k, s]));
  const { $schema: _drop, ...schema } = z.toJSONSchema(z.strictObject(shape), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return schema;
}

/** The operation's output in JSON Schema. */
export function outputJsonSchema(op: WorkspaceOperation): Record<string, unknown> {
  const { $schema: _drop, ...schema } = z.toJSONSchema(op.output, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return schema;
}

/**
 * Validates tool arguments with the very schemas the REST route validates its path, query and body with, so a tool
 * accepts exactly what the route accepts (defaults and coercions applied the same way).
 */
export function validateInput(op: WorkspaceOperation, args: unknown): InputResult {
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
    return { ok: false, problems: [{ field: 'arguments', message: 'must be an object' }] };
  }
  const given = (args ?? {}) as Record<string, unknown>;
  const known = fields(op);
  const problems: InputProblem[] = Object.keys(given)
    .filter((k) => !known.some(([name]) => name === k))
    .map((k) => ({ field: k, message: 'is not a parameter of this tool' }));
  const parts: Record<'params' | 'query' | 'body', Record<string, unknown>> = { params: {}, query: {}, body: {} };
  for (const [name, , part] of known) if (name in given) parts[part][name] = given[name];
  const input: OperationInput = {};
  for (const [name, schema] of Object.entries(op.params ?? {})) {
    const r = safeParseForMessages(schema, parts.params[name]);
    if (r.success) input[name] = r.data;
    else problems.push({ field: name, message: r.error.issues[0] ? issueRule(r.error.issues[0]) : 'is invalid' });
  }
  for (const part of ['query', 'body'] as const) {
    const schema = op[part];
    if (!schema) continue;
    const r = safeParseForMessages(schema, parts[part]);
    if (r.success) Object.assign(input, r.data);
    else for (const i of r.error.issues) problems.push({ field: i.path.join('.') || part, message: issueRule(i) });
  }
  return problems.length ? { ok: false, problems } : { ok: true, input };
}
