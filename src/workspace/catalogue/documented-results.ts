import { HttpException, Logger } from '@nestjs/common';
import { DomainError } from '../../common/domain-error.js';
import { unreadableAnswer } from '../google-api.errors.js';
import type { WorkspaceOperation } from './operation.js';

/*
 * Holds what a Workspace operation answers to the shape it documents (its output schema, which is also the MCP tool's
 * outputSchema). googleapis types Google's JSON but never checks it at run time, so JSON of another shape (a Google
 * change, a proxy rewriting bodies) would otherwise reach the caller as a 200 breaking the documented shape, or as a
 * 500 from a TypeError in the code reading it. Either becomes a 502 that says what to do next.
 */

/** How many schema problems a log line names (the first ones tell the story). */
const LOGGED_PROBLEMS = 5;

const logger = new Logger('GoogleAnswers');

function apiName(op: WorkspaceOperation): string {
  return op.api[0].toUpperCase() + op.api.slice(1);
}

/** The result itself when it has the operation's documented shape; otherwise throws a 502 google_unavailable. */
export function documentedResult<T>(op: WorkspaceOperation, result: T): T {
  const parsed = op.output.safeParse(result);
  if (parsed.success) return result;
  // Paths and expectations only: the values are the user's data.
  const problems = parsed.error.issues.slice(0, LOGGED_PROBLEMS).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
  logger.warn({ msg: `Google's ${apiName(op)} answer is not in the shape its API documents`, operation: op.tool, problems });
  throw unreadableAnswer(apiName(op), op.hints.readOnlyHint);
}

/**
 * A failure of `op` as the caller should see it: domain and HTTP errors unchanged; anything else (a TypeError from
 * reading an answer of an unexpected shape) a 502 google_unavailable, logged with its name and message.
 */
export function operationFailure(op: WorkspaceOperation, err: unknown): unknown {
  if (err instanceof DomainError || err instanceof HttpException) return err;
  logger.error({ msg: `Google's ${apiName(op)} answer could not be read`, operation: op.tool, error: (err as Error)?.name, detail: (err as Error)?.message });
  return unreadableAnswer(apiName(op), op.hints.readOnlyHint);
}
