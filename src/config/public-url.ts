/**
 * PUBLIC_URL in the one form everything is derived from: the issuer, the Google redirect URI, the OAuth endpoints,
 * every RFC 8707 resource identifier and every metadata document. Clients compare those as strings after putting
 * them through `new URL()` (the MCP SDK does this to the resource it is given, then sends it back to /oauth/authorize
 * and /oauth/token), so the service has to speak the form `new URL()` gives: scheme and host lower-cased, the
 * scheme's default port dropped, dot segments and percent-encoding normalised. The path is kept as it is (paths are
 * case-sensitive) without its trailing slashes, so PUBLIC_URL + `/mcp` is one path. A value already in this form is
 * returned unchanged (DESIGN.md's default `http://localhost:${PORT}` and `{PUBLIC_URL}/auth/google/callback` hold
 * exactly).
 */
export function canonicalPublicUrl(value: string): string {
  const url = new URL(value);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Why `value` cannot be a base URL, if it cannot: a query, a fragment or credentials would either be lost or end
 * up inside every URL built from it (`{PUBLIC_URL}/auth/google/callback`).
 */
export function publicUrlProblem(value: string): string | undefined {
  // Not a URL at all is the URL check's to report (this one runs after it either way).
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (url.username || url.password) return 'must not contain credentials (user:password@)';
  if (url.search || url.hash) return 'must be a base URL without a query or fragment (for example https://broker.example.com)';
  return undefined;
}
