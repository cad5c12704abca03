import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The service's Prometheus metrics, in a registry of its own per service instance (tests run several instances in
 * one process; prom-client's global registry would mix them).
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly s3Duration = new Histogram({
    name: 'broker_s3_operation_duration_seconds',
    help: 'S3 call latency by operation and outcome (ok or the error code)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly s3Errors = new Counter({
    name: 'broker_s3_errors_total',
    help: 'S3 errors by code (access_denied, bad_credentials, bucket_missing, timeout, network, conflict, ...)',
    labelNames: ['code', 'operation'] as const,
    registers: [this.registry],
  });

  readonly sessions = new Counter({
    name: 'broker_sessions_total',
    help: 'Sessions created, ended (logout) and revoked',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly tokenRefreshes = new Counter({
    name: 'broker_google_token_refreshes_total',
    help: 'Google access token refreshes by outcome (success, reauth_required, error)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly securityViolations = new Counter({
    name: 'broker_security_violations_total',
    help: 'Refused attempts to reach another user, reuse codes or refresh tokens',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'broker_http_request_duration_seconds',
    help: 'HTTP request duration by route, status (none: the connection closed before any header went out) and outcome (completed, client_closed, cut)',
    labelNames: ['method', 'route', 'status', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly googleApiDuration = new Histogram({
    name: 'broker_google_api_duration_seconds',
    help: 'Google API call latency by API and outcome',
    labelNames: ['api', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  // No user label: an email in a label would put every user's address in the metrics store, one series each.
  readonly workspaceCallsRefused = new Counter({
    name: 'broker_workspace_calls_refused_total',
    help: 'Workspace calls refused with 429 because their user had WORKSPACE_CALLS_PER_USER calls running on this replica and the queue was full (reason queue_full) or the call waited GOOGLE_HTTP_TIMEOUT_MS (waited_too_long), by API',
    labelNames: ['api', 'reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'broker_' });
  }
}
