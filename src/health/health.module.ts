import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StorageModule } from '../storage/storage.module.js';
import { HealthController } from './health.controller.js';
import { Lifecycle } from './lifecycle.js';
import { S3HealthIndicator } from './s3.health.js';

/** Liveness and readiness probes. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), StorageModule],
  controllers: [HealthController],
  providers: [S3HealthIndicator, Lifecycle],
})
export class HealthModule {}
