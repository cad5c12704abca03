import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { DomainError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { Metrics } from '../observability/metrics.js';

/** Seconds a refused caller is told to wait: a Workspace call usually takes well under a second. */
const RETRY_AFTER_SECONDS = 1;

/**
 * At most WORKSPACE_CALLS_PER_USER Google Workspace calls in flight per user on this replica (GoogleCaller.call, so
 * REST routes and MCP tools alike). Without it one user's agent could put any number of calls in flight and starve
 * the replica's other users of CPU and sockets to Google, and burn its own Google quota into 429s.
 *
 * Design: a call beyond the limit is refused at once (429 `too_many_requests`, `Retry-After: 1`; an MCP tool error
 * saying the same), never queued: a queue hides the overload from the caller and holds memory for every waiting
 * request. Counted by the verified principal's email, in memory: a user's count is per replica, as the per-IP rate
 * limits are. A user's entry goes when their count is back to 0, so the map holds only users with calls in flight.
 */
@Injectable()
export class UserCallLimit {
  /** Calls in flight by user; no entry means none. */
  private readonly inFlight = new Map<string, number>();
  readonly perUser: number;

  constructor(
    config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.perUser = config.values.workspace.callsPerUser;
  }

  /** Runs `fn` in one of the user's slots, released however `fn` ends; throws the 429 when none is free. */
  async run<T>(email: string, api: string, fn: () => Promise<T>): Promise<T> {
    const release = this.acquire(email, api);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * Runs `fn` in one of the user's slots and keeps the slot, once `fn` succeeded, while the stream its result goes
   * on in (`streamOf`) is open: a streamed download holds a connection to Google long after its headers came. The
   * stream's close gives the slot back; `maxHoldMs` is the bound should it never close (the download's own deadline
   * ends it before that), so a slot cannot leak for good.
   */
  async runStreaming<T>(email: string, api: string, fn: () => Promise<T>, streamOf: (result: T) => Readable, maxHoldMs: number): Promise<T> {
    const release = this.acquire(email, api);
    try {
      const result = await fn();
      releaseOnClose(streamOf(result), release, maxHoldMs);
      return result;
    } catch (err) {
      release();
      throw err;
    }
  }

  /** How many calls the user has in flight on this replica (for tests and diagnostics). */
  count(email: string): number {
    return this.inFlight.get(email) ?? 0;
  }

  /** How many users have calls in flight: the size of the map, which must not grow with users who are idle. */
  get users(): number {
    return this.inFlight.size;
  }

  /** Takes a slot, or throws the 429; the returned function gives it back, once however often it is called. */
  private acquire(email: string, api: string): () => void {
    const held = this.inFlight.get(email) ?? 0;
    if (held >= this.perUser) {
      this.metrics.workspaceCallsRefused.inc({ api: api.toLowerCase() });
      throw tooManyCalls(this.perUser);
    }
    this.inFlight.set(email, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(email) ?? 1) - 1;
      if (left > 0) this.inFlight.set(email, left);
      else this.inFlight.delete(email);
    };
  }
}

/** Calls `release` once `stream` has closed (ended, failed or destroyed), or after `maxMs` at the latest. */
function releaseOnClose(stream: Readable, release: () => void, maxMs: number): void {
  if (stream.closed || stream.destroyed) return release();
  const timer = setTimeout(release, maxMs);
  timer.unref();
  stream.once('close', () => {
    clearTimeout(timer);
    release();
  });
}

/** The refusal, in the shape of the per-IP rate limits' 429 (src/common/rate-limits.ts). */
export function tooManyCalls(perUser: number): DomainError {
  return new DomainError(
    429,
    'too_many_requests',
    `This user already has ${perUser} Google Workspace calls in flight on this server, the most allowed at once (a Gmail batch makes up to 5 of them). ` +
      `Retry after ${RETRY_AFTER_SECONDS} s, once some of them have finished, and keep at most ${perUser} calls in flight at a time.`,
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
}
