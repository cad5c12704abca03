import { tokenScopes } from '../sessions/bearer-token.service.js';
import type { Principal } from '../sessions/principal.js';
import { tokenReach, type ScopeNeed } from '../common/google-scopes.js';
import { fileScopeOf, type FileScope } from '../workspace/app-files/app-file-marker.js';
import type { WorkspaceOperation } from '../workspace/catalogue/operation.js';
import type { InputResult } from '../workspace/catalogue/operation-input.js';
import { inputNeedOf } from '../workspace/input-scope.js';

/** The verified caller of an MCP request, as the bearer guard established it; never taken from tool arguments. */
export interface McpCaller {
  email: string;
  /** The scopes the bearer token carries. */
  scopes: readonly string[];
  /** The token is an OAuth client's (an application the person connected), not the person's own browser sign-in's. */
  oauthClient?: boolean;
  /** The OAuth client the token was issued to (its drive.file marks are made from it). */
  clientId?: string;
  /**
   * Why the check of the call's files against the client's marks (McpController) could not be made, when it could
   * not: Google failed it, or the user's grant is gone. The tool answers with it instead of running unchecked.
   */
  fileCheckFailure?: unknown;
  /** The tool call McpController validated to check its files against the client's marks, when it did. */
  checkedCall?: CheckedCall;
}

/**
 * A tool call as McpController checked it: the tool runs with exactly this input and FileScope, so the files it
 * reaches are the files checked, however the MCP SDK reads the message again, and its arguments are not validated
 * a second time.
 */
export interface CheckedCall {
  op: WorkspaceOperation;
  /** validateInput's answer for the call's arguments as they arrived. */
  parsed: InputResult;
  files: FileScope;
}

/** The caller of a request the bearer guard let through. */
export function mcpCaller(principal: Principal): McpCaller {
  const clientId = principal.claims.client_id;
  return { email: principal.email, scopes: tokenScopes(principal.claims), oauthClient: clientId !== undefined, ...(clientId !== undefined ? { clientId } : {}) };
}

/** How much of the user's files the token reaches for a kind of call (tokenReach). */
export function tokenReachOf(caller: McpCaller, need: ScopeNeed): 'all' | 'own' | 'none' {
  return tokenReach(need, caller.scopes, caller.oauthClient ?? true);
}

/** Whether the token's scopes cover a kind of call, for some files at least (tokenReach). */
export function tokenAllows(caller: McpCaller, need: ScopeNeed): boolean {
  return tokenReachOf(caller, need) !== 'none';
}

/** The drive.file marks of a tool call (fileScopeOf): the tool's scope and what its arguments, as they came, add to it. */
export function callFileScope(caller: McpCaller, op: WorkspaceOperation, args: unknown): FileScope | undefined {
  const extra = inputNeedOf(op.inputNeeds, args, caller.oauthClient ?? true);
  return fileScopeOf({ email: caller.email, clientId: caller.clientId, scopes: caller.scopes }, extra ? [op.scope, extra.need] : [op.scope]);
}
