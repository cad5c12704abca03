import fastifyRateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { onRequestHookHandler } from 'fastify';
import { DomainError } from './domain-error.js';

/** What RATE_LIMIT_* configure (`common` takes them without importing `config`): a budget per endpoint, or none. */
export type RateLimitSettings = Partial<Record<'register' | 'token' | 'authorize' | 'googleCallback' | 'revoke' | 'introspect', { limit: number; windowSeconds: number } | undefined>>;

/** The endpoints limited per client IP, each with its own budget (`RATE_LIMIT_*`). */
const LIMITED_ROUTES: Array<{ name: keyof RateLimitSettings; methods: string[]; url: string; what: string }> = [
  { name: 'register', methods: ['POST'], url: '/oauth/register', what: 'client registrations' },
  { name: 'token', methods: ['POST'], url: '/oauth/token', what: 'token requests' },
  { name: 'authorize', methods: ['GET'], url: '/oauth/authorize', what: 'authorization requests' },
  { name: 'googleCallback', methods: ['GET'], url: '/auth/google/callback', what: 'sign-in callbacks' },
  // Both revocation endpoints take a token from anyone; one still signed by us (a leaked, already revoked one, say)
  // costs S3 reads on every call. Each route keeps its own counter under the one budget.
  { name: 'revoke', methods: ['POST'], url: '/auth/revoke', what: 'revocation requests' },
  { name: 'revoke', methods: ['POST'], url: '/oauth/revoke', what: 'revocation requests' },
  // Anonymous callers reach it too (client authentication is part of the request), and each call costs S3 reads
  // (the client, then the token's family or session). Its own budget: a resource server introspecting the tokens
  // it is sent calls it far more often than a client calls the token endpoint.
  { name: 'introspect', methods: ['POST'], url: '/oauth/introspect', what: 'introspection requests' },
];

/**
 * Per-IP rate limits on registration, token, authorize, the Google callback, revocation and introspection, with
 * @fastify/rate-limit.
 * (@nestjs/throttler, the Nest module for this, is CommonJS that require()s the ESM-only Nest 12 packages: Node
 * >= 20.19 allows that, but jest's module system on Node 20 cannot load it, so no test could run against it.)
 * The limits are attached by route from the table above, so the endpoints' own modules carry nothing; the key is
 * the client IP as Fastify resolved it under TRUST_PROXY. A refusal is the service's JSON error with Retry-After.
 * Counters live in each replica's memory: N replicas allow up to N times the limit.
 *
 * One limiter per route path, made once and attached to each of its methods: Fastify adds a HEAD route to every GET
 * route that runs the GET handler (an authorization request, a callback's code exchange at Google and its S3 writes),
 * and a limit configured per route (`config.rateLimit`) gets a counter per method, so HEAD requests were never counted.
 */
export async function registerRateLimits(app: NestFastifyApplication, limits: RateLimitSettings): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  await app.register(fastifyRateLimit as never, { global: false } as never);
  const limiters = new Map<string, onRequestHookHandler>();
  fastify.addHook('onRoute', (route) => {
    // HEAD is GET without the body (RFC 9110 section 9.3.2).
    const methods = [route.method].flat().map((m) => (String(m) === 'HEAD' ? 'GET' : String(m)));
    const limited = LIMITED_ROUTES.find((r) => r.url === route.url && methods.some((m) => r.methods.includes(m)));
    const limit = limited && limits[limited.name];
    if (!limited || !limit) return;
    let limiter = limiters.get(limited.url);
    if (!limiter) {
      limiter = fastify.rateLimit({
        max: limit.limit,
        timeWindow: limit.windowSeconds * 1000,
        errorResponseBuilder: (_req, ctx) => {
          const retryAfter = Math.max(1, Math.ceil(ctx.ttl / 1000));
          return new DomainError(
            429,
            'too_many_requests',
            `Too many ${limited.what} from your address (at most ${limit.limit} per ${limit.windowSeconds} s). Retry after ${retryAfter} s.`,
            { 'Retry-After': String(retryAfter) },
          );
        },
      }) as unknown as onRequestHookHandler;
      limiters.set(limited.url, limiter);
    }
    route.onRequest = [...[route.onRequest ?? []].flat(), limiter];
  });
}
