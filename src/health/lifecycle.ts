import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { DomainError } from '../common/domain-error.js';

/**
 * 503 for a request that reached the HTTP server after it began closing (app.factory.ts refuses it before anything
 * else runs): nothing was done, and the load balancer sends the retry to another instance (readiness has failed since
 * the shutdown began). At an OAuth endpoint the filter answers it as temporarily_unavailable.
 */
export class ShuttingDownError extends DomainError {
  constructor() {
    super(503, 'shutting_down', 'This instance is shutting down and takes no new requests; nothing was done. Retry the request: another instance answers it.', { 'Retry-After': '1' });
  }
}

/**
 * Shutdown state: once draining, readiness fails so the load balancer stops sending before the server closes; the
 * drain that follows is bounded (SHUTDOWN_DRAIN_MS), so the shutdown hooks that run after it (the last write of a
 * refreshed Google token, the audit trail's last batch) run before Kubernetes' SIGKILL, whatever a request does.
 */
@Injectable()
export class Lifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Lifecycle');
  private drainingSince?: number;
  private drainBound?: NodeJS.Timeout;
  private serverClosing = false;

  constructor(private readonly config: AppConfig) {}

  /** True after a shutdown began. */
  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** True once the HTTP server stopped accepting (drainStarts): a request that still arrives is refused. */
  get closing(): boolean {
    return this.serverClosing;
  }

  /**
   * Runs before the HTTP server closes: readiness goes 503, then wait SHUTDOWN_DELAY_MS for endpoints to update.
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.drainingSince = Date.now();
    const { shutdownDelayMs: delay, shutdownDrainMs: drain } = this.config.values;
    this.logger.log({ msg: 'draining: readiness now fails', signal, delayMs: delay, drainMs: drain });
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  }

  /**
   * The server stops accepting (Fastify's preClose, app.factory.ts): the requests in flight get SHUTDOWN_DRAIN_MS,
   * then `cut` closes every connection still open.
   */
  drainStarts(cut: () => void): void {
    this.serverClosing = true;
    const drain = this.config.values.shutdownDrainMs;
    if (drain <= 0 || this.drainBound) return;
    this.drainBound = setTimeout(() => {
      this.logger.warn({ msg: 'requests still in flight after SHUTDOWN_DRAIN_MS; closing their connections', event: 'drain_overdue', drainMs: drain });
      cut();
    }, drain);
    this.drainBound.unref();
  }

  /** The drain is over: its bound is no longer needed. */
  onApplicationShutdown(): void {
    if (this.drainBound) clearTimeout(this.drainBound);
  }
}
