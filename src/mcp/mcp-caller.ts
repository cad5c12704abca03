import type { Principal } from '../sessions/principal.js';
import { REQUIRED_SCOPES, type ScopeNeed } from '../workspace/required-scopes.js';

/** The verified caller of an MCP request, as the bearer guard established it; never taken from tool arguments. */
export interface McpCaller {
  email: string;
  /** The scopes the bearer token carries; undefined for a token issued before tokens carried scopes. */
  scopes: readonly string[] | undefined;
}

/** The caller of a request the bearer guard let through. */
export function mcpCaller(principal: Principal): McpCaller {
  const scope = (principal.claims as { scope?: unknown }).scope;
  return { email: principal.email, scopes: typeof scope === 'string' ? scope.split(' ').filter(Boolean) : undefined };
}

/** Whether the token's scopes cover a kind of call (any one of its scopes will do, as with Google's grant). */
export function tokenAllows(caller: McpCaller, need: ScopeNeed): boolean {
  // Without a scope claim only the user's Google grant limits the call (GoogleCaller checks it).
  return caller.scopes === undefined || REQUIRED_SCOPES[need].some((s) => caller.scopes!.includes(s));
}
