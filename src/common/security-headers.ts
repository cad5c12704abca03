import helmet, { type HelmetOptions } from 'helmet';

/**
 * Security headers on every answer (helmet). No page of ours may be framed (clickjacking of the consent
 * page, of /docs): frame-ancestors 'none' and X-Frame-Options: DENY. The CSP allows what Swagger UI at /docs needs:
 * its scripts are files from this origin, its styles partly inline. Left out on purpose: form-action (browsers apply
 * it to the redirect after a form post, which would block the consent page's redirect to the client),
 * upgrade-insecure-requests (breaks http on localhost), and Cross-Origin-Opener-Policy (it cuts the window.opener
 * link of clients that run the OAuth flow in a popup).
 */
export const SECURITY_HEADERS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginOpenerPolicy: false,
};

/**
 * The headers helmet sets with SECURITY_HEADERS, computed once. They depend on nothing in the request (no CSP nonce),
 * so running helmet's eleven middlewares on every request only repeated the same work: first helmet(options) on
 * every request (@fastify/helmet re-parsed the CSP each time, 7% of GET /health/live), then helmet's middleware
 * chain and its eleven separate `setHeader` calls (about 15% of GET /health/live's CPU, npm run bench). helmet
 * stays the source of truth: a new helmet default shows up here.
 */
export function securityHeaders(options: HelmetOptions = SECURITY_HEADERS): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string) => {
      headers[name] = value;
    },
    removeHeader: () => undefined,
  };
  let failure: unknown;
  helmet(options)({} as never, recorder as never, (err?: unknown) => {
    failure = err;
  });
  if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
  return headers;
}

/**
 * What every answer carries unless its route says otherwise: the security headers, and Cache-Control: no-store, so
 * no cache keeps an answer (mail, files, tokens, a user's session); the front door's script and stylesheet set
 * their own (public, max-age=300).
 */
export function answerHeaders(): Record<string, string> {
  return { ...securityHeaders(), 'cache-control': 'no-store' };
}
