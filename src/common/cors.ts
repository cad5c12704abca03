import type { FastifyCorsOptions } from '@fastify/cors';
import type { AppConfigValues } from '../config/config.schema.js';

/** Headers a browser-based MCP or OAuth client sends, and those it must be able to read. */
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'MCP-Protocol-Version', 'Mcp-Session-Id', 'Last-Event-ID'];
const EXPOSED_HEADERS = ['WWW-Authenticate', 'Mcp-Session-Id'];

// Discovery documents and the token endpoint: public by design (no cookies, nothing without a code or token).
const OPEN = /^\/(\.well-known\/(oauth-protected-resource(\/.*)?|oauth-authorization-server(\/.*)?|jwks\.json)|oauth\/token)$/;
// The endpoints that act with a bearer or create state: only the origins the operator lists.
const LISTED = /^\/(mcp|oauth\/register|oauth\/revoke)$/;

/** Whether a browser origin may call the listed endpoints: CORS_ORIGINS (or `*`), or the service's own origin. */
export function originAllowed(config: Pick<AppConfigValues, 'corsOrigins' | 'publicUrl'>, origin: string): boolean {
  return config.corsOrigins.includes('*') || config.corsOrigins.includes(origin) || origin === new URL(config.publicUrl).origin;
}

/**
 * @fastify/cors options per request: which origin may read the answer of which endpoint. Never with credentials
 * (these endpoints take bearer tokens and PKCE, not cookies). Preflights are answered in the onRequest hook, before
 * any guard, as browsers send them without the Authorization header. Other paths get no CORS headers at all.
 */
export function corsDelegator(config: Pick<AppConfigValues, 'corsOrigins' | 'publicUrl'>) {
  return (req: { url?: string; headers: Record<string, string | string[] | undefined> }, callback: (err: Error | null, options: FastifyCorsOptions) => void) => {
    const path = (req.url ?? '').split('?')[0];
    const base = { credentials: false, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS, methods: ['GET', 'POST', 'DELETE'], maxAge: 600 };
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    if (OPEN.test(path)) return callback(null, { ...base, origin: config.corsOrigins.length ? config.corsOrigins.includes('*') || (origin !== undefined && originAllowed(config, origin)) : '*' });
    if (LISTED.test(path)) return callback(null, { ...base, origin: origin !== undefined && originAllowed(config, origin) });
    return callback(null, { origin: false });
  };
}
