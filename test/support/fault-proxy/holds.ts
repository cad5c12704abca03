import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxiedRequest } from './request-log.js';

/**
 * A request holdNext() kept: read whole, neither forwarded nor answered until release(). This is a write that S3
 * applies late, after its client gave up on it (a PUT stuck in a network path or an overloaded S3 front end, then
 * delivered): what a stall cannot show, since a stalled request never reaches the server at all.
 */
export interface HeldRequest {
  /** Resolves once a matching request arrived and its body was read whole (the body is what release() sends). */
  readonly arrived: Promise<{ request: ProxiedRequest; body: Buffer }>;
  /**
   * Sends the held request upstream now, exactly as it came (method, path, headers, body, so a SigV4 signature still
   * verifies), whether or not its client still waits; relays the answer to the client if it does. Resolves with the
   * upstream's answer. Rejects when nothing was held yet, or clear()/stop() dropped the request.
   */
  release(): Promise<{ status: number; body: string }>;
}

/**
 * An answer holdAnswerNext() keeps: the request went upstream at once and its answer was read whole (S3 applied the
 * write, or a read saw the state of that moment), but the client gets it only on release(): a read that started
 * before something changed and is answered after it, ordered by the test instead of by a delay.
 */
export interface HeldAnswer {
  /** Resolves once a matching request was forwarded and the upstream's answer read whole. */
  readonly answered: Promise<ProxiedRequest>;
  /** Relays the answer to the client now (nothing if it gave up, or clear()/stop() reset it meanwhile). */
  release(): void;
}

/** A request holdNext() keeps, read whole, with its client's response. */
export interface LateRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  res: ServerResponse;
  entry: ProxiedRequest;
}

interface Stalled {
  res: ServerResponse;
  timer?: NodeJS.Timeout;
  reason: 'stall' | 'blackhole';
}

/** The requests never answered (stall, blackhole): kept until released, when their client's socket is reset. */
export class Stalls {
  private readonly held = new Set<Stalled>();

  /** Never answers; a timed stall (random mode) resets the client socket after `endAfterMs`. */
  hold(res: ServerResponse, reason: Stalled['reason'], endAfterMs?: number): void {
    const held: Stalled = { res, reason };
    if (endAfterMs !== undefined && reason === 'stall') {
      held.timer = setTimeout(() => {
        this.held.delete(held);
        res.socket?.destroy();
      }, endAfterMs);
    }
    this.held.add(held);
    res.on('close', () => {
      clearTimeout(held.timer);
      this.held.delete(held);
    });
  }

  /** Resets the client socket of every held request (of one reason, when given). */
  release(reason?: Stalled['reason']): void {
    for (const h of [...this.held]) {
      if (reason && h.reason !== reason) continue;
      clearTimeout(h.timer);
      this.held.delete(h);
      h.res.socket?.destroy();
    }
  }
}

/** The requests holdNext() keeps for a later release. */
export class LateRequests {
  private readonly late = new Set<LateRequest>();

  /** Reads the request whole and keeps it (with its client's response, if the client stays) for a later release. */
  keep(req: IncomingMessage, res: ServerResponse, entry: ProxiedRequest, onHold?: (late: LateRequest) => void): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const late: LateRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: { ...req.headers }, body: Buffer.concat(chunks), res, entry };
      this.late.add(late);
      onHold?.(late);
    });
  }

  /** Takes a kept request out for release; false when it was released or dropped already. */
  take(late: LateRequest): boolean {
    return this.late.delete(late);
  }

  /** Drops every kept request, never forwarded: its client's socket is reset. */
  drop(): void {
    for (const late of this.late) late.res.socket?.destroy();
    this.late.clear();
  }
}
