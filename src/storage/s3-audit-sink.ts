import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { AuditLog, AuditSink } from '../observability/audit-log.js';
import { JsonObjectRepository } from './json-object.repository.js';

const FLUSH_EVERY_MS = 5000;
const FLUSH_AT_LINES = 200;

/**
 * With AUDIT_S3=true, appends the audit trail to S3 as JSON lines for teams without a log stack. S3 cannot append,
 * so each replica writes batches: `{AUDIT_S3_PREFIX}YYYY/MM/DD/HH/{time}-{replica}-{seq}.jsonl`, every 5 s or 200
 * events, and once more at shutdown.
 */
@Injectable()
export class S3AuditSink implements AuditSink, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private readonly replica = randomBytes(4).toString('hex');
  private buffer: Record<string, unknown>[] = [];
  private timer?: NodeJS.Timeout;
  private seq = 0;

  constructor(
    private readonly audit: AuditLog,
    private readonly objects: JsonObjectRepository,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (!this.config.values.audit.s3) return;
    this.audit.addSink(this);
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  /** Buffers one event. */
  write(line: Record<string, unknown>): void {
    this.buffer.push(line);
    if (this.buffer.length >= FLUSH_AT_LINES) void this.flush();
  }

  /** Writes the buffered events as one object; on failure they are kept for the next attempt. */
  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const now = new Date();
    const hour = now.toISOString().slice(0, 13).replace(/[-T]/g, '/');
    const key = `${this.config.values.audit.prefix}${hour}/${now.toISOString().replace(/[:.]/g, '')}-${this.replica}-${this.seq++}.jsonl`;
    try {
      await this.objects.putText(key, batch.map((l) => JSON.stringify(l)).join('\n') + '\n', 'application/x-ndjson');
    } catch (err) {
      this.buffer = batch.concat(this.buffer);
      this.logger.warn({ msg: 'audit batch not written to S3; kept for the next flush', detail: (err as Error).message, events: batch.length });
    }
  }
}
