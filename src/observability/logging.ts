import type { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import { isoTimeOncePerMs, RequestLog } from './request-log.js';

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

/**
 * Query parameters request lines show as [redacted]: secrets and one-time credentials, and what people type that
 * says what is in their mailbox or who they are (a Gmail or Drive search, the address of someone not signed in yet).
 */
const SECRET_PARAMS = /^(code|state|token|access_token|refresh_token|id_token|client_secret|code_verifier|password|ticket|handoff|q|login_hint)$/i;

/**
 * stdout is written in batches: when LOG_BATCH_BYTES are queued, and at the latest every LOG_FLUSH_MS (pino's
 * documented asynchronous mode, sonic-boom's minLength and periodicFlush). Each write is a system call that costs
 * the event loop about 9 µs on this machine whether it carries one line or forty; one per request was 5% of
 * GET /auth/session's CPU (npm run bench). The price: a line may reach stdout up to LOG_FLUSH_MS late, and a process
 * killed outright (SIGKILL, the OOM killer) loses at most that much; on SIGTERM, a crash or process.exit pino writes
 * what is queued synchronously before the process ends.
 */
const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 100;

/** The service's loggers: `logger` for everything, `requests` for the one line per request. */
export interface ServiceLoggers {
  logger: Logger;
  /**
   * The per-request line only. It has no redaction pass: its fields are fixed and built by the service (method,
   * route pattern, a path whose secret query values `loggablePath` has already replaced, status, time, IP, and a
   * request id that is ours or matched `[\w.:-]{1,128}`), so nothing in it can carry a header or a body. Redaction's
   * walk over the wildcard paths was 7% of the service's CPU under GET /health/live (npm run bench).
   */
  requests: RequestLog;
}

/**
 * The service's pino loggers: JSON lines with redaction, or human-readable output for the local run. Both write to
 * one destination. By default that is stdout, written asynchronously in batches (see LOG_BATCH_BYTES; the
 * synchronous default was the largest single cost of GET /health/live). pino flushes what is queued when the
 * process exits (its exit handler writes synchronously), so a crash or a SIGTERM still leaves the last lines in the log.
 */
export function createPinoLogger(opts: { level: string; destination?: DestinationStream }): ServiceLoggers {
  const common = { level: opts.level, base: undefined, timestamp: isoTimeOncePerMs };
  const destination = opts.destination ?? pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS });
  const logger = pino({ ...common, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
  return { logger, requests: new RequestLog(destination, () => logger.isLevelEnabled('info')) };
}

/** A request path for the log: secret and personal query values replaced (SECRET_PARAMS), so codes, tokens and searches never land in logs. */
export function loggablePath(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) if (SECRET_PARAMS.test(key)) params.set(key, '[redacted]');
  return `${url.slice(0, q)}?${params.toString()}`;
}

/** Nest's contexts that log one line per route, controller or module at boot. */
const BOOT_CHATTER = new Set(['RouterExplorer', 'RoutesResolver', 'InstanceLoader']);

/** Nest's logger on pino: the context becomes a field, objects stay structured. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}

  log(message: unknown, ...rest: unknown[]) {
    // Nest's one line per route, controller and module at boot (about 215) buries the lines that matter, locally
    // (a newcomer's first screen) and in a replica's log alike: they are debug (LOG_LEVEL=debug shows them).
    const context = rest[rest.length - 1];
    this.write(typeof context === 'string' && BOOT_CHATTER.has(context) ? 'debug' : 'info', message, rest);
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

type LogMethod = (...args: unknown[]) => void;

/**
 * Fastify's per-request logger (`request.log`), made when something first logs through it. Fastify builds a pino
 * child for every request to bind its id, and pino serialises and redacts a child's bindings when it is built:
 * about 2.5% of GET /auth/session's CPU (npm run bench), for a logger the service's own code never uses (the
 * request line is written once by the onResponse hook). Fastify's own rare lines through it (a client that went
 * away, a reply sent twice) still come from the real child: the request id bound, redaction applied.
 */
class RequestLogger {
  private real?: Logger;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, unknown>,
    private readonly options: object,
  ) {}

  private get logger(): Logger {
    return (this.real ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.real?.level ?? this.parent.level;
  }
  set level(level: string) {
    this.logger.level = level;
  }
  child(bindings: Record<string, unknown>, options?: object): Logger {
    return this.logger.child(bindings, options);
  }
  fatal(...args: unknown[]): void {
    (this.logger.fatal as LogMethod).apply(this.logger, args);
  }
  error(...args: unknown[]): void {
    (this.logger.error as LogMethod).apply(this.logger, args);
  }
  warn(...args: unknown[]): void {
    (this.logger.warn as LogMethod).apply(this.logger, args);
  }
  info(...args: unknown[]): void {
    (this.logger.info as LogMethod).apply(this.logger, args);
  }
  debug(...args: unknown[]): void {
    (this.logger.debug as LogMethod).apply(this.logger, args);
  }
  trace(...args: unknown[]): void {
    (this.logger.trace as LogMethod).apply(this.logger, args);
  }
  silent(): void {}
}

/** Fastify's `childLoggerFactory`: the request's child logger, built on first use (see RequestLogger). */
export function lazyRequestLogger(logger: Logger, bindings: Record<string, unknown>, options: object): Logger {
  return new RequestLogger(logger, bindings, options) as unknown as Logger;
}

/**
 * Human-readable lines for `npm run start:local` (pino-pretty, in a worker thread). `flush` resolves once the worker
 * has written what was logged: the local run's last words come after the service's, not before.
 */
export function prettyLogDestination(): DestinationStream & { flush(cb: (err?: Error) => void): void } {
  return pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } }) as never;
}
