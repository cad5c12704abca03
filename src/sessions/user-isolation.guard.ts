import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ForbiddenError } from '../common/domain-error.js';
import { normalizeEmail } from '../common/email.js';
import { AuditLog } from '../observability/audit-log.js';
import { Metrics } from '../observability/metrics.js';
import { Principal, PRINCIPAL } from './principal.js';
import { httpRequestOf } from '../common/http-request-of.js';

interface RoutedRequest {
  params?: Record<string, string>;
  method: string;
  url: string;
  ip?: string;
  routeOptions?: { url?: string };
  [PRINCIPAL]?: Principal;
}

/**
 * `{userId}` must be `me` or the caller's own email. Runs after the bearer guard and before any handler, so no
 * cache or S3 read happens for a request naming another user. Refusals are logged as SECURITY VIOLATION and
 * reveal nothing about the named user.
 */
@Injectable()
export class UserIsolationGuard implements CanActivate {
  constructor(
    private readonly audit: AuditLog,
    private readonly metrics: Metrics,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = httpRequestOf<RoutedRequest>(context);
    const principal = request[PRINCIPAL];
    const target = request.params?.userId ?? '';
    if (principal && (target === 'me' || normalizeEmail(target) === principal.email)) return true;
    this.metrics.securityViolations.inc({ reason: 'cross_user_access' });
    this.audit.record({
      event: 'security_violation',
      outcome: 'denied',
      user: principal?.email,
      ip: request.ip,
      detail: { reason: 'cross_user_access', caller: principal?.email, target: target.slice(0, 320), route: request.routeOptions?.url ?? request.url.split('?')[0], method: request.method },
    });
    throw new ForbiddenError('You can only act on your own account: use /v1/users/me/... (or your own email).', 'forbidden_user');
  }
}
