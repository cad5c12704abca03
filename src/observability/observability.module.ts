import { Global, Module } from '@nestjs/common';
import { AuditLog } from './audit-log.js';
import { MetricsController } from './metrics.controller.js';
import { Metrics } from './metrics.js';

/** Metrics, the audit trail; available to every module (they only record into it). */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [Metrics, AuditLog],
  exports: [Metrics, AuditLog],
})
export class ObservabilityModule {}
