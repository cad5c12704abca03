import type { FastifyCorsOptions } from '@fastify/cors';
import type { onRequestHookHandler } from 'fastify';
import { DomainError } from './domain-error.js';

/**
 * Headers a browser-based MCP or OAuth client sends, and those it must be able to read. A 2026-07-28 client sends
 * `Mcp-Method` on every request and `Mcp-Name` on tools/call (SEP-2243; the SDK refuses a modern request without
 * them), so a preflight that does not allow them blocks a browser client of that revision entirely.
 */
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'MCP-Protocol-Version', 'Mcp-Method', 'Mcp-Name', 'Mcp-Session-Id', 'Last-Event-ID'];
const EXPOSED_HEADERS = ['WWW-Authenticate', 'Mcp-Session-Id'];

/** The settings CORS depends on (CORS_ORIGINS and PUBLIC_URL; `common` takes them without importing `config`). */
export interface CorsSettings {
  corsOrigins: string[];
  publicUrl: string;
}

// Route patterns, as Fastify registers them. Discovery documents and the token endpoint: public by design (no
// cookies, nothing without a code or token).
const OPEN_ROUTES: ReadonlySet<string> = new Set([
  '/oauth/token',
  '/.well-known/jwks.json',
  '/.well-known/oauth-authorization-server',
  '/.well-known/oauth-authorization-server/*',
  '/.well-known/oauth-protected-resource',
  '/.well-known/oauth-protected-resource/*',
]);
// The endpoints that act with a bearer or create state: only the origins the operator lists.
const LISTED_ROUTES: ReadonlySet<string> = new Set(['/mcp', '/oauth/register', '/oauth/revoke']);
// The endpoints that refuse a request from a browser origin not listed, whatever else it carries: the MCP transport's
// DNS-rebinding rule (an Origin present and not valid MUST be answered 403).
const ORIGIN_CHECKED_ROUTES: ReadonlySet<string> = new Set(['/mcp']);

/** Whether a browser origin may call the listed endpoints: CORS_ORIGINS (or `*`), or the service's own origin. */
export function originAllowed(config: CorsSettings, origin: string): boolean {
  return config.corsOrigins.includes('*') || config.corsOrigins.includes(origin) || origin === new URL(config.publicUrl).origin;
}

type OriginDecision = (origin: string | undefined, callback: (err: Error | null, allow: boolean) => void) => void;

/** @fastify/cors as the service uses it: plugin options, each route's policy, and the paths that take preflights. */
export interface CorsPolicy {
  /** The plugin's options: the shared parts, normalised once; no route gets CORS unless its own config says so. */
  plugin: FastifyCorsOptions;
  /** A route's `config.cors`: its class's origin rule, or false (no CORS headers, nothing to do per request). */
  forRoute(url: string): FastifyCorsOptions | false;
  /** Route patterns that answer browsers' preflights (OPTIONS), with the policy of the path they precede. */
  preflightRoutes: readonly string[];
  /** A route's `onRequest` hook refusing foreign browser origins, or undefined for routes that serve any origin. */
  originGate(url: string, method: string | string[]): onRequestHookHandler | undefined;
}

/**
 * Which browser origin may read the answer of which endpoint, through @fastify/cors's per-route config. Never with
 * credentials (these endpoints take bearer tokens and PKCE, not cookies). Preflights are answered in the plugin's
 * onRequest hook, before any guard, as browsers send them without the Authorization header. Other routes carry
 * `cors: false`, so the plugin's hook returns at once: with a per-request delegator it rebuilt its options on every
 * request of every route, about 5% of GET /auth/session's CPU (npm run bench).
 */
export function corsPolicy(config: CorsSettings): CorsPolicy {
  const allowed = (origin: string | undefined) => typeof origin === 'string' && originAllowed(config, origin);
  // `true` echoes the request's Origin; false leaves the answer without CORS headers.
  const listedOrigin: OriginDecision = (origin, callback) => callback(null, allowed(origin));
  const listed: FastifyCorsOptions = { origin: listedOrigin };
  // Without CORS_ORIGINS the open endpoints answer any origin; with it, the listed ones, like the other endpoints.
  const open: FastifyCorsOptions = { origin: config.corsOrigins.length ? listedOrigin : '*' };
  return {
    plugin: { credentials: false, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS, methods: ['GET', 'POST', 'DELETE'], maxAge: 600, origin: false },
    forRoute: (url) => (OPEN_ROUTES.has(url) ? open : LISTED_ROUTES.has(url) ? listed : false),
    preflightRoutes: [...OPEN_ROUTES, ...LISTED_ROUTES],
    originGate: (url, method) => (ORIGIN_CHECKED_ROUTES.has(url) && ![method].flat().includes('OPTIONS') ? refuseForeignOrigin(config) : undefined),
  };
}

/**
 * The DNS-rebinding rule as an `onRequest` hook: it runs before the bearer guard, so a foreign origin is answered 403
 * whether or not it sent a token (after the guard it got a 401 without one, which the transport rule does not allow),
 * and costs no session lookup. A request without Origin is not from a browser page and passes.
 */
function refuseForeignOrigin(config: CorsSettings): onRequestHookHandler {
  return (req, _reply, done) => {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || originAllowed(config, origin)) return done();
    done(new DomainError(403, 'origin_not_allowed', `Requests from the web origin ${origin.slice(0, 200)} are not allowed. The operator can add it to CORS_ORIGINS.`));
  };
}
