import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The emulator's memory in a JSON file, so `npm run start:local` restarted still knows the grants, tokens and
 * Workspace data it handed out (the service kept its own side in S3; without this, every stored refresh token
 * would be invalid_grant after a restart and the service would sign everyone out).
 *
 * Maps, Sets and Buffers are written tagged ({"$map":[...]}) so the stores' own structures come back as they were.
 * Written by hand: it is a dozen lines over JSON.stringify, and a serialization library would bring more than it saves.
 */
export class StateFile {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => unknown,
  ) {}

  /** The saved snapshot, or undefined when there is none yet (first start) or it cannot be read. */
  load(): unknown {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(text, revive);
    } catch (err) {
      // A half-written file cannot happen (write-then-rename); a hand-edited one can: start empty, say why.
      console.warn(`Google emulator: ignoring ${this.path} (${(err as Error).message}); starting with no grants`);
      return undefined;
    }
  }

  /** Saves soon: a burst of requests (a sign-in is four) becomes one write. */
  saveSoon(): void {
    this.timer ??= setTimeout(() => this.saveNow(), 100);
    this.timer.unref();
  }

  /** Saves at once (on stop), atomically: a crash mid-write leaves the previous file. */
  saveNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.snapshot(), replace), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

function replace(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]; // before Buffer.toJSON ran
  if (Buffer.isBuffer(raw)) return { $buf: raw.toString('base64') };
  if (value instanceof Map) return { $map: [...value.entries()] };
  if (value instanceof Set) return { $set: [...value] };
  return value;
}

function revive(_key: string, value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.$map)) return new Map(v.$map as Array<[unknown, unknown]>);
  if (Array.isArray(v.$set)) return new Set(v.$set);
  if (typeof v.$buf === 'string') return Buffer.from(v.$buf, 'base64');
  return value;
}
