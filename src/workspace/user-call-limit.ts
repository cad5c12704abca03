import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { DomainError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { Metrics } from '../observability/metrics.js';

/** Seconds a refused caller is told to wait: a Workspace call usually takes well under a second. */
const RETRY_AFTER_SECONDS = 1;

/** Why a call found no slot. */
type Refusal = 'queue_full' | 'waited_too_long';

/** A call waiting for one of its user's slots: `admit` hands it one, `timer` refuses it when it has waited too long. */
interface Waiter {
  admit: () => void;
  timer: NodeJS.Timeout;
}

/** One user's calls on this replica: those running (each holds a slot) and those waiting, first come first served. */
interface UserCalls {
  running: number;
  waiting: Waiter[];
}

/**
 * At most WORKSPACE_CALLS_PER_USER Google Workspace calls running per user on this replica (GoogleCaller.call, so
 * REST routes and MCP tools alike). Without it one user's agent could put any number of calls in flight and starve
 * the replica's other users of CPU and sockets to Google, and burn its own Google quota into 429s.
 *
 * Design: a burst beyond the limit waits its turn rather than failing (an agent that fires 50 tool calls at once is
 * normal, and each would otherwise have to retry), but only so much of it: at most WORKSPACE_CALLS_QUEUED_PER_USER
 * calls wait, each for at most GOOGLE_HTTP_TIMEOUT_MS (the longest one Google call may take), and a call past either
 * bound is refused with 429 `too_many_requests` and `Retry-After: 1` (an MCP tool error saying the same). So a
 * flood is answered, never held without end, and what waits is bounded in number and time. Counted by the verified
 * principal's email, in memory: per replica, as the per-IP rate limits are. A user's entry goes once nothing of
 * theirs runs or waits, so the map holds only users with calls in flight.
 */
@Injectable()
export class UserCallLimit {
  private readonly users = new Map<string, UserCalls>();
  readonly perUser: number;
  readonly queuedPerUser: number;
  private readonly maxWaitMs: number;

  constructor(
    config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    const { workspace, google } = config.values;
    this.perUser = workspace.callsPerUser;
    this.queuedPerUser = workspace.callsQueuedPerUser;
    this.maxWaitMs = google.httpTimeoutMs;
  }

  /** Runs `fn` in one of the user's slots (waiting for one if need be), released however `fn` ends; throws the 429. */
  async run<T>(email: string, api: string, fn: () => Promise<T>): Promise<T> {
    const slot = this.acquire(email, api);
    const release = typeof slot === 'function' ? slot : await slot;
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
    const slot = this.acquire(email, api);
    const release = typeof slot === 'function' ? slot : await slot;
    try {
      const result = await fn();
      releaseOnClose(streamOf(result), release, maxHoldMs);
      return result;
    } catch (err) {
      release();
      throw err;
    }
  }

  /** How many calls of the user run on this replica (for tests and diagnostics). */
  count(email: string): number {
    return this.users.get(email)?.running ?? 0;
  }

  /** How many calls of the user wait for a slot on this replica. */
  waiting(email: string): number {
    return this.users.get(email)?.waiting.length ?? 0;
  }

  /** How many users have calls running or waiting: the size of the map, which must not grow with idle users. */
  get userCount(): number {
    return this.users.size;
  }

  /**
   * A slot now (the release function: the hot path allocates no promise), or a promise of one once a running call
   * of the user ends; throws or rejects with the 429 when the user's queue is full or the wait too long.
   */
  private acquire(email: string, api: string): (() => void) | Promise<() => void> {
    let calls = this.users.get(email);
    if (!calls) this.users.set(email, (calls = { running: 0, waiting: [] }));
    if (calls.running < this.perUser) {
      calls.running += 1;
      return this.releaser(email, calls);
    }
    if (calls.waiting.length >= this.queuedPerUser) throw this.refuse(api, 'queue_full');
    const user = calls;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        // The slot passes straight from the call that ended to this one: `running` does not change.
        admit: () => {
          clearTimeout(waiter.timer);
          resolve(this.releaser(email, user));
        },
        timer: setTimeout(() => {
          user.waiting.splice(user.waiting.indexOf(waiter), 1);
          this.forgetIfIdle(email, user);
          reject(this.refuse(api, 'waited_too_long'));
        }, this.maxWaitMs),
      };
      user.waiting.push(waiter);
    });
  }

  /** Gives the slot to the user's next waiting call, or back; once however often it is called. */
  private releaser(email: string, calls: UserCalls): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = calls.waiting.shift();
      if (next) return next.admit();
      calls.running -= 1;
      this.forgetIfIdle(email, calls);
    };
  }

  private forgetIfIdle(email: string, calls: UserCalls): void {
    if (calls.running === 0 && calls.waiting.length === 0 && this.users.get(email) === calls) this.users.delete(email);
  }

  private refuse(api: string, reason: Refusal): DomainError {
    this.metrics.workspaceCallsRefused.inc({ api: api.toLowerCase(), reason });
    return tooManyCalls(this.perUser, this.queuedPerUser, reason);
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
export function tooManyCalls(perUser: number, queuedPerUser: number, reason: Refusal): DomainError {
  const why =
    reason === 'queue_full'
      ? `This user already has ${perUser} Google Workspace calls running on this server and ${queuedPerUser} more waiting, the most allowed.`
      : `This call waited too long for one of this user's ${perUser} Google Workspace calls running on this server to finish.`;
  return new DomainError(
    429,
    'too_many_requests',
    `${why} Retry after ${RETRY_AFTER_SECONDS} s, and keep at most ${perUser} calls in flight at a time (a Gmail batch counts as up to 5).`,
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
}
