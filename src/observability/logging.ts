import type { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';

/** Fields that must never reach a log line, wherever they appear. */
const REDACT = [
  'authorization',
  'cookie',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'code_verifier',
  'password',
  '*.authorization',
  '*.cookie',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.client_secret',
  '*.code_verifier',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** Query parameters whose values are secrets or one-time credentials; request lines show them as [redacted]. */
const SECRET_PARAMS = /^(code|state|token|access_token|refresh_token|id_token|client_secret|code_verifier|password|ticket)$/i;

let lastMs = 0;
let lastTime = '';
/**
 * pino's ISO-8601 `time` field, formatted once per millisecond: a busy replica writes several lines in the same
 * millisecond, and `toISOString` on each was 5% of GET /health/live's CPU (npm run bench).
 */
function isoTimeOncePerMs(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/** The service's loggers: `logger` for everything, `requests` for the one line per request. */
export interface ServiceLoggers {
  logger: Logger;
  /**
   * The per-request line only. It has no redaction pass: its fields are fixed and built by the service (method,
   * route pattern, a path whose secret query values `loggablePath` has already replaced, status, time, IP, and a
   * request id that is ours or matched `[\w.:-]{1,128}`), so nothing in it can carry a header or a body. Redaction's
   * walk over the wildcard paths was 7% of the service's CPU under GET /health/live (npm run bench).
   */
  requests: Logger;
}

/**
 * The service's pino loggers: JSON lines with redaction, or human-readable output for the local run. Both write to
 * one destination. By default that is stdout, written asynchronously: a line is queued and written by the event loop,
 * and lines queued during a write go out together in the next one, so a busy replica makes one write system call
 * per batch instead of one per request (the synchronous default was the largest single cost of GET /health/live).
 * Nothing waits for a quiet moment: a lone line is written at once. pino flushes what is queued when the process
 * exits (its exit handler writes synchronously), so a crash or a SIGTERM still leaves the last lines in the log.
 */
export function createPinoLogger(opts: { level: string; pretty?: boolean; destination?: DestinationStream }): ServiceLoggers {
  const common = { level: opts.level, base: undefined, timestamp: isoTimeOncePerMs };
  const destination =
    opts.destination ??
    (opts.pretty
      ? pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } })
      : pino.destination({ dest: 1, sync: false }));
  return {
    logger: pino({ ...common, redact: { paths: REDACT, censor: '[redacted]' } }, destination),
    requests: pino(common, destination),
  };
}

/** A request path for the log: secret query values replaced, so callback codes and tokens never land in logs. */
export function loggablePath(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) if (SECRET_PARAMS.test(key)) params.set(key, '[redacted]');
  return `${url.slice(0, q)}?${params.toString()}`;
}

/** Nest's logger on pino: the context becomes a field, objects stay structured. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}

  log(message: unknown, ...rest: unknown[]) {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.write('fatal', message, rest);
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, rest: unknown[]) {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    if (message && typeof message === 'object') this.pino[level]({ context, ...(message as object) });
    else this.pino[level]({ context }, String(message));
  }
}
