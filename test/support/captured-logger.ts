import type { LoggerService } from '@nestjs/common';

export interface LogLine {
  level: string;
  context?: string;
  message: unknown;
  text: string;
}

/** A Nest logger that keeps every line, so tests can look for audit events and scan for leaked secrets. */
export class CapturedLogger implements LoggerService {
  readonly lines: LogLine[] = [];

  log(message: unknown, ...rest: unknown[]) { this.push('log', message, rest); }
  error(message: unknown, ...rest: unknown[]) { this.push('error', message, rest); }
  warn(message: unknown, ...rest: unknown[]) { this.push('warn', message, rest); }
  debug(message: unknown, ...rest: unknown[]) { this.push('debug', message, rest); }
  verbose(message: unknown, ...rest: unknown[]) { this.push('verbose', message, rest); }
  fatal(message: unknown, ...rest: unknown[]) { this.push('fatal', message, rest); }

  /** pino's destination interface: request lines and anything else written through pino. */
  write(line: string): void {
    let message: unknown = line;
    try {
      message = JSON.parse(line);
    } catch {
      // keep the raw text
    }
    this.lines.push({ level: 'pino', message, text: line });
  }

  /** Structured events whose `msg` equals `msg`. */
  events(msg: string): Array<Record<string, unknown>> {
    return this.lines
      .map((l) => l.message)
      .filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null && (m as { msg?: unknown }).msg === msg);
  }

  /** Every line as text, for secret scanning. */
  get text(): string {
    return this.lines.map((l) => l.text).join('\n');
  }

  private push(level: string, message: unknown, rest: unknown[]) {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    this.lines.push({ level, context, message, text: `${level} ${context ?? ''} ${safeStringify(message)} ${safeStringify(rest)}` });
  }
}

function safeStringify(v: unknown): string {
  try {
    return typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    return String(v);
  }
}
