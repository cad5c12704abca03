import type { FastifyCorsOptions } from '@fastify/cors';

/** Headers a browser-based MCP or OAuth client sends, and those it must be able to read. */
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'MCP-Protocol-Version', 'Mcp-Session-Id', 'Last-Event-ID'];
const EXPOSED_HEADERS = ['WWW-Authenticate', 'Mcp-Session-Id'];

/** The settings CORS depends on (CORS_ORIGINS and PUBLIC_URL; `common` takes them without importing `config`). */
export interface CorsSettings {
  corsOrigins: string[];
  publicUrl: string;
}

// Discovery documents and the token endpoint: public by design (no cookies, nothing without a code or token).
const OPEN = /^\/(\.well-known\/(oauth-protected-resource(\/.*)?|oauth-authorization-server(\/.*)?|jwks\.json)|oauth\/token)$/;
// The endpoints that act with a bearer or create state: only the origins the operator lists.
const LISTED = /^\/(mcp|oauth\/register|oauth\/revoke)$/;

/** Whether a browser origin may call the listed endpoints: CORS_ORIGINS (or `*`), or the service's own origin. */
export function originAllowed(config: CorsSettings, origin: string): boolean {
  return config.corsOrigins.includes('*') || config.corsOrigins.includes(origin) || origin === new URL(config.publicUrl).origin;
}

/**
 * @fastify/cors options per request: which origin may read the answer of which endpoint. Never with credentials
 * (these endpoints take bearer tokens and PKCE, not cookies). Preflights are answered in the onRequest hook, before
 * any guard, as browsers send them without the Authorization header. Other paths get no CORS headers at all.
 */
export function corsDelegator(config: CorsSettings) {
  // The four possible answers, built once: the delegator runs on every request, CORS or not (npm run bench).
  const base = { credentials: false, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS, methods: ['GET', 'POST', 'DELETE'], maxAge: 600 };
  const anyOrigin: FastifyCorsOptions = { ...base, origin: '*' };
  const thisOrigin: FastifyCorsOptions = { ...base, origin: true }; // echoes the request's Origin
  const refused: FastifyCorsOptions = { ...base, origin: false };
  const noCors: FastifyCorsOptions = { origin: false };
  const allowed = (origin: string | string[] | undefined) => typeof origin === 'string' && originAllowed(config, origin);
  return (req: { url?: string; headers: Record<string, string | string[] | undefined> }, callback: (err: Error | null, options: FastifyCorsOptions) => void) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (OPEN.test(path)) return callback(null, !config.corsOrigins.length ? anyOrigin : config.corsOrigins.includes('*') || allowed(req.headers.origin) ? thisOrigin : refused);
    if (LISTED.test(path)) return callback(null, allowed(req.headers.origin) ? thisOrigin : refused);
    return callback(null, noCors);
  };
}
