import { tokenScopes } from '../sessions/bearer-token.service.js';
import type { Principal } from '../sessions/principal.js';
import { tokenAccepts, type ScopeNeed } from '../common/google-scopes.js';

/** The verified caller of an MCP request, as the bearer guard established it; never taken from tool arguments. */
export interface McpCaller {
  email: string;
  /** The scopes the bearer token carries. */
  scopes: readonly string[];
  /** The token is an OAuth client's (an application the person connected), not the person's own browser sign-in's. */
  oauthClient?: boolean;
}

/** The caller of a request the bearer guard let through. */
export function mcpCaller(principal: Principal): McpCaller {
  return { email: principal.email, scopes: tokenScopes(principal.claims), oauthClient: principal.claims.client_id !== undefined };
}

/** Whether the token's scopes cover a kind of call (any one of tokenAccepts' will do). */
export function tokenAllows(caller: McpCaller, need: ScopeNeed): boolean {
  return tokenAccepts(need, caller.oauthClient ?? true).some((s) => caller.scopes.includes(s));
}
