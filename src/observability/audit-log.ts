import { Injectable, Logger } from '@nestjs/common';

export type AuditEventName = 'sign_in' | 'token_refresh' | 'logout' | 'revoke' | 'reauth_required' | 'security_violation' | 'workspace_change' | 'consent';

/** One audit event: who did what, when, from where, and how it ended. */
export interface AuditEvent {
  event: AuditEventName;
  outcome: 'success' | 'failure' | 'denied' | 'noop';
  user?: string;
  ip?: string;
  /** Anything else worth keeping (client id, route, reason); never tokens or secrets. */
  detail?: Record<string, unknown>;
}

/** Where audit events go besides the log stream (e.g. S3, see storage/s3-audit-sink.ts). */
export interface AuditSink {
  write(line: Record<string, unknown>): void;
}

/**
 * The audit trail: one structured event for each sign-in, refresh, logout, revocation, reauth_required,
 * SECURITY VIOLATION and change made in a user's Workspace (mail sent, file uploaded, event deleted, ...), written to the log stream (`"audit": true`) and to any registered sink.
 */
@Injectable()
export class AuditLog {
  private readonly logger = new Logger('Audit');
  private readonly sinks: AuditSink[] = [];

  /** Records an event. */
  record(e: AuditEvent): void {
    const line = { audit: true, msg: e.event === 'security_violation' ? 'SECURITY VIOLATION' : e.event, at: new Date().toISOString(), event: e.event, outcome: e.outcome, user: e.user, ip: e.ip, ...e.detail };
    if (e.event === 'security_violation') this.logger.warn(line);
    else this.logger.log(line);
    for (const sink of this.sinks) sink.write(line);
  }

  /** Adds a sink (called by sinks at start-up when they are enabled). */
  addSink(sink: AuditSink): void {
    this.sinks.push(sink);
  }
}
