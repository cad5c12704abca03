import { SCOPE_VOCABULARY } from '../common/google-scopes.js';

/**
 * Accepted in a request and then ignored: whether a client gets refresh tokens follows its registered grant types,
 * not a scope (MCP clients add it by habit).
 */
const IGNORED = new Set(['offline_access']);
const VOCABULARY = new Set(SCOPE_VOCABULARY);
export const MAX_SCOPE_LENGTH = 2048;

export type ScopeRequest = { ok: true; scopes: string[] } | { ok: false; description: string };

/**
 * Reads the `scope` of an authorization request: space separated scopes of the vocabulary (Google's scope URLs,
 * `scopes_supported`). Absent or empty means "everything the user has granted"; anything unknown is refused.
 */
export function parseScopeRequest(raw: unknown): ScopeRequest {
  if (raw === undefined) return { ok: true, scopes: [] };
  if (typeof raw !== 'string' || raw.length > MAX_SCOPE_LENGTH) {
    return { ok: false, description: `scope must be one space separated list of at most ${MAX_SCOPE_LENGTH} characters.` };
  }
  const asked = raw.split(' ').filter(Boolean);
  const unknown = asked.filter((s) => !VOCABULARY.has(s) && !IGNORED.has(s));
  if (unknown.length) {
    const shown = unknown.slice(0, 3).map((s) => `"${s.slice(0, 100)}"`).join(', ');
    return {
      ok: false,
      description: `Unknown scope ${shown}${unknown.length > 3 ? ` and ${unknown.length - 3} more` : ''}. Scopes are Google scope URLs such as https://www.googleapis.com/auth/gmail.readonly; the accepted ones are listed in scopes_supported at /.well-known/oauth-authorization-server.`,
    };
  }
  return { ok: true, scopes: [...new Set(asked.filter((s) => VOCABULARY.has(s)))] };
}

/**
 * The scopes a token gets: those requested (`requested`, space separated; none = the whole vocabulary) that Google
 * reports the user has granted. Google's answer includes earlier grants (`include_granted_scopes=true`).
 */
export function grantedScopes(requested: string | undefined, grantedAtGoogle: readonly string[]): string[] {
  const wanted = requested ? requested.split(' ').filter(Boolean) : SCOPE_VOCABULARY;
  const granted = new Set(grantedAtGoogle);
  return wanted.filter((s) => granted.has(s));
}
