import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { SingleFlight } from '../common/single-flight.js';
import { AppConfig } from '../config/app-config.js';
import { AuditLog, AuditSink } from '../observability/audit-log.js';
import { JsonObjectRepository } from './json-object.repository.js';
import { operatorDetail, StorageError } from './storage.errors.js';

const FLUSH_EVERY_MS = 5000;
const FLUSH_AT_LINES = 200;
/**
 * Events held while S3 does not take them. Past this, later ones are counted, not kept, and the next batch says how
 * many are missing (each is in the log stream too): any signed-in caller can cause events (a SECURITY VIOLATION per
 * request), and during a long S3 outage an unbounded buffer would grow until the process ran out of memory, taking
 * every refreshed token S3 had not taken yet with it.
 */
export const MAX_BUFFERED_LINES = 20_000;

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
  /** A batch whose write failed: retried under the same key, so an attempt that landed is never written twice. */
  private pending?: { key: string; body: string; events: number };
  private timer?: NodeJS.Timeout;
  private seq = 0;
  /** Events not kept since the last batch (MAX_BUFFERED_LINES). */
  private dropped = 0;
  /** The flush under way: a flush called meanwhile joins it (see flush). */
  private readonly flushes = new SingleFlight<void>();

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
    if (this.flushes.has('flush')) await this.flush(); // a flush under way (a full buffer's, during the drain) ends first: joined, it would not be retried
    await this.flush(); // a batch still pending from a failed flush
    if (!this.pending) await this.flush(); // then what was buffered since
  }

  /** Buffers one event. */
  write(line: Record<string, unknown>): void {
    if (this.buffer.length >= MAX_BUFFERED_LINES) {
      this.dropped++;
      return;
    }
    this.buffer.push(line);
    if (this.buffer.length >= FLUSH_AT_LINES) void this.flush();
  }

  /**
   * Writes the buffered events as one object; on failure the batch is retried under the same key at the next flush.
   * The key is unique to this replica and batch, so a 412 on it means an earlier attempt was applied and only its
   * answer was lost (the SDK's own retry meets it too): the batch is written, not duplicated under a new key.
   * One flush at a time: the timer, a full buffer and shutdown each call this, and a put may take S3_TIMEOUT_MS
   * (as long as the timer's period). Overlapping, a second write of the same batch answered 412 after the first had
   * landed cleared `pending` while it already held the next batch, and that batch was lost if its write failed.
   */
  flush(): Promise<void> {
    return this.flushes.run('flush', () => this.flushOnce());
  }

  private async flushOnce(): Promise<void> {
    if (!this.pending) {
      if (this.buffer.length === 0) return;
      const now = new Date();
      if (this.dropped > 0) {
        this.logger.warn({ msg: 'audit events not kept for S3 while it did not take them (they are in the log stream)', event: 'audit_dropped', dropped: this.dropped });
        this.buffer.push({ audit: true, msg: 'audit events dropped', at: now.toISOString(), event: 'audit_dropped', dropped: this.dropped, replica: this.replica });
        this.dropped = 0;
      }
      const hour = now.toISOString().slice(0, 13).replace(/[-T]/g, '/');
      const key = `${this.config.values.audit.prefix}${hour}/${now.toISOString().replace(/[:.]/g, '')}-${this.replica}-${this.seq++}.jsonl`;
      this.pending = { key, body: this.buffer.map((l) => JSON.stringify(l)).join('\n') + '\n', events: this.buffer.length };
      this.buffer = [];
    }
    const batch = this.pending;
    try {
      await this.objects.putText(batch.key, batch.body, 'application/x-ndjson');
      this.pending = undefined;
    } catch (err) {
      if (err instanceof StorageError && err.code === 'conflict') {
        this.pending = undefined;
        return;
      }
      this.logger.warn({ msg: 'audit batch not written to S3; retried at the next flush', detail: operatorDetail(err), events: batch.events });
    }
  }
}
