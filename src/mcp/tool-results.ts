import type { CallToolResult } from '@modelcontextprotocol/server';
import { DomainError } from '../common/domain-error.js';
import type { WorkspaceOperation } from '../workspace/catalogue/operation.js';

/** Longest JSON copy of a result put in the text block; structuredContent always has all of it. */
const MAX_TEXT = 50_000;

/** A one-line description of a result: how many items of each list, whether more pages follow. */
function summary(op: WorkspaceOperation, result: Record<string, unknown>): string {
  const counts = Object.entries(result)
    .filter(([, v]) => Array.isArray(v))
    .map(([k, v]) => `${(v as unknown[]).length} ${k}`);
  const more = typeof result.nextPageToken === 'string' ? ' (more: pass nextPageToken as pageToken)' : '';
  return `${op.title}: ${counts.length ? counts.join(', ') : 'done'}${more}.`;
}

/**
 * A tool's result: the object in `structuredContent` (checked against the tool's outputSchema by clients) and a
 * text block with a summary line and the same JSON, for clients that show only text to the model.
 */
export function toolResult(op: WorkspaceOperation, result: object): CallToolResult {
  const data = result as Record<string, unknown>;
  const json = JSON.stringify(data);
  const text = json.length > MAX_TEXT ? `${json.slice(0, MAX_TEXT)}... (cut; the whole result is in structuredContent)` : json;
  return { content: [{ type: 'text', text: `${summary(op, data)}\n${text}` }], structuredContent: data };
}

/**
 * A failure the model can act on, as a tool error (`isError: true`): the same error code and guidance as the REST
 * API's JSON error, with Retry-After seconds when Google rate limited the call.
 */
export function toolError(err: DomainError): CallToolResult {
  const retryAfter = err.headers['Retry-After'];
  const body = { statusCode: err.status, error: err.error, message: err.message, ...err.details, ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}) };
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }] };
}
