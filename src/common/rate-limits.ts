import { ExecutionContext, Injectable, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerLimitDetail, type ThrottlerOptions } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config.js';
import type { AppConfigValues } from '../config/config.schema.js';
import type { RateLimit } from '../config/edge-settings.js';
import { DomainError } from './domain-error.js';

/** The endpoints limited per client IP, each with its own budget (`RATE_LIMIT_*`). */
const LIMITED_ROUTES: Array<{ name: keyof AppConfigValues['rateLimits']; method?: string; url: string; label: string }> = [
  { name: 'register', method: 'POST', url: '/oauth/register', label: 'client registrations' },
  { name: 'token', method: 'POST', url: '/oauth/token', label: 'token requests' },
  // Any method: the consent form posts back to the same URL, and counts against the same budget.
  { name: 'authorize', url: '/oauth/authorize', label: 'authorization requests' },
  { name: 'googleCallback', method: 'GET', url: '/auth/google/callback', label: 'sign-in callbacks' },
];

type FastifyLikeRequest = { method?: string; routeOptions?: { url?: string } };

function routeOf(context: ExecutionContext): { method: string; url: string } {
  const req = context.switchToHttp().getRequest<FastifyLikeRequest>();
  return { method: req.method ?? '', url: req.routeOptions?.url ?? '' };
}

/** One named throttler per limited endpoint; it counts only requests to that endpoint. */
function throttlers(limits: AppConfigValues['rateLimits']): ThrottlerOptions[] {
  return LIMITED_ROUTES.flatMap((route) => {
    const limit: RateLimit | undefined = limits[route.name];
    if (!limit) return [];
    return [
      {
        name: route.name,
        limit: limit.limit,
        ttl: limit.windowSeconds * 1000,
        setHeaders: false,
        skipIf: (context: ExecutionContext) => {
          const { method, url } = routeOf(context);
          return url !== route.url || (route.method !== undefined && method !== route.method);
        },
      },
    ];
  });
}

/**
 * @nestjs/throttler's guard, applied by route from one table (so the endpoints' own modules carry no decorators),
 * keyed by the client IP as Fastify resolved it under TRUST_PROXY, answering 429 in the service's error format
 * with `Retry-After`. Counters live in each replica's memory: N replicas allow up to N times the limit.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const { method, url } = routeOf(context);
    const route = LIMITED_ROUTES.find((r) => r.url === url);
    const retryAfter = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    throw new DomainError(
      429,
      'too_many_requests',
      `Too many ${route?.label ?? 'requests'} from your address (at most ${detail.limit} per ${Math.round(detail.ttl / 1000)} s on ${method} ${url}). Retry after ${retryAfter} s.`,
      { 'Retry-After': String(retryAfter) },
    );
  }
}

/** Per-IP rate limits on registration, token, authorize and the Google callback (RATE_LIMIT_* settings). */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ throttlers: throttlers(config.values.rateLimits) }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
})
export class RateLimitModule {}
