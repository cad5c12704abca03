import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/public.decorator.js';
import { Lifecycle } from './lifecycle.js';
import { LIVE_ANSWER } from './liveness-probe.js';
import { notReadyMessage } from './readiness-reason.js';
import { S3HealthIndicator } from './s3.health.js';

/** Kubernetes probes. */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly s3: S3HealthIndicator,
    private readonly lifecycle: Lifecycle,
  ) {}

  /** Liveness: the process answers; touches no dependency, so an S3 outage never restarts pods. */
  @Get('live')
  live() {
    return LIVE_ANSWER;
  }

  /** Readiness: S3 reachable (Terminus JSON; 503 when down, with a reason code; the detail is in the log). */
  @Get('ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    if (this.lifecycle.draining) {
      reply.status(503).send({ status: 'shutting_down', statusCode: 503, error: 'shutting_down', message: 'This instance is shutting down; send requests to another one.' });
      return;
    }
    try {
      reply.status(200).send(await this.health.check([() => this.s3.check()]));
    } catch (err) {
      const result = (err as { getResponse?: () => object }).getResponse?.() ?? {};
      const s3 = (result as { error?: { s3?: { reason?: string } } }).error?.s3;
      // Terminus's body, plus the service-wide error fields, so both probes and people can read it.
      reply.status(503).send({ ...result, statusCode: 503, message: notReadyMessage(s3?.reason) });
    }
  }
}
