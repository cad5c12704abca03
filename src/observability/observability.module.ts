import { Global, Module } from '@nestjs/common';
import { AuditLog } from './audit-log.js';
import { MetricsListener } from './metrics-listener.js';
import { Metrics } from './metrics.js';

/** Metrics (served on METRICS_PORT by MetricsListener), the audit trail; available to every module (they only record into it). */
@Global()
@Module({
  providers: [Metrics, AuditLog, MetricsListener],
  exports: [Metrics, AuditLog, MetricsListener],
})
export class ObservabilityModule {}
