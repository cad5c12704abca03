import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

/** Shutdown state: once draining, readiness fails so the load balancer stops sending before the server closes. */
@Injectable()
export class Lifecycle implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Lifecycle');
  private drainingSince?: number;

  constructor(private readonly config: AppConfig) {}

  /** True after a shutdown began. */
  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Runs before the HTTP server closes: readiness goes 503, then wait SHUTDOWN_DELAY_MS for endpoints to update. */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.drainingSince = Date.now();
    const delay = this.config.values.shutdownDelayMs;
    this.logger.log({ msg: 'draining: readiness now fails', signal, delayMs: delay });
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
