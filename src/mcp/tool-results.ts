import type { CallToolResult } from '@modelcontextprotocol/server';
import { DomainError } from '../common/domain-error.js';
import type { ReauthRequiredError } from '../credentials/credentials.errors.js';
import type { WorkspaceOperation } from '../workspace/catalogue/operation.js';
import type { InputProblem } from '../workspace/catalogue/operation-input.js';

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

/**
 * The 400 for tool arguments that fail the tool's schema, to be answered as a tool error (toolError), not a JSON-RPC
 * error: MCP 2025-11-25 (SEP-1303) makes input validation a tool execution error, so the model sees which fields
 * are wrong and can call again with them fixed (a protocol error is often not shown to the model at all). The code
 * is the REST API's for the same arguments on its route, `invalid_request`.
 */
export function invalidArguments(op: WorkspaceOperation, problems: readonly InputProblem[]): DomainError {
  const listed = problems.map((p) => `"${p.field}" ${p.message}`).join('; ');
  const these = problems.length > 1 ? 'these arguments' : 'this argument';
  return new DomainError(400, 'invalid_request', `Invalid arguments for ${op.tool}: ${listed}. Fix ${these} and call ${op.tool} again (its inputSchema in tools/list names every parameter).`);
}

/**
 * A dead Google grant (reauth_required) as an MCP tool error. The REST answer's next step, "Sign in again at
 * /auth/google", is no use here: the model cannot sign in, and the person using the application does not know that
 * page (nor would signing in there reconnect the application). What restores access is the application authorizing
 * again, which it does by itself once the service refuses its token: the sessions built on the dead grant have ended
 * (GoogleCaller), so its next request is 401 invalid_token and its refresh token invalid_grant, and the new
 * authorization signs the person in with Google. The text says so, for the model to tell the person. When the
 * sessions stay (Google honoured the grant but still refused the call), nothing refuses the application's token, so
 * the person has to reconnect it.
 */
export function reauthorizeError(err: ReauthRequiredError): DomainError {
  const next = err.sessionsStay
    ? 'To restore access, authorize this application again: disconnect and reconnect this server in the application, then sign in with Google and allow access.'
    : "This application's connection to the service ended with it. To restore access, authorize this application again: it asks you to reconnect on its next request (sign in with Google and allow access there); if it does not, disconnect and reconnect this server in the application.";
  return new DomainError(err.status, err.error, `${err.reason} ${next}`);
}

/**
 * The user's Google grant lacks the scope a tool needs (`insufficient_scope` from the stored grant or from Google), as
 * an OAuth client's tool error. The REST answer, "have the user sign in again at /auth/google", is no use here: that
 * sign-in ends on the token page and does not reconnect the application. The application's own authorization asks
 * Google for the scopes it requests, on top of GOOGLE_SCOPES, so authorizing it again with the access left ticked on
 * Google's page grants it. Its token already carries the scope (the controller checked), so no step-up 403 will make
 * it do that by itself: the person reconnects it.
 */
export function regrantError(err: DomainError): DomainError {
  const scope = typeof err.details.scope === 'string' ? err.details.scope : 'this tool needs';
  return new DomainError(
    err.status,
    err.error,
    `Google refused: this user has not granted the scope ${scope}. To grant it, authorize this application again: disconnect and reconnect this server in the application, then sign in with Google and leave this access ticked on Google's consent page.`,
    {},
    err.details,
  );
}
