import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The variables of the image's runtime stage that change how node and the C library use memory. */
const RUNTIME_VARIABLES = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const;

/** `KEY=value` pairs of one Dockerfile ENV instruction (values may be double-quoted). */
function envPairs(instruction: string): Array<[string, string]> {
  return [...instruction.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S+)/g)].map(([, key, raw]) => [key, raw.startsWith('"') ? raw.slice(1, -1) : raw]);
}

/** The repository's Dockerfile, from bench/ (sources, under jest) or .local-build/bench/ (compiled). */
function repositoryDockerfile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = [join(here, '..', 'Dockerfile'), join(here, '..', '..', 'Dockerfile')].find((f) => existsSync(f));
  if (!found) throw new Error(`No Dockerfile above ${here}: the bench runs the service with the image's memory settings and reads them there.`);
  return found;
}

/**
 * The memory settings the production image runs the service with (NODE_OPTIONS, MALLOC_ARENA_MAX), read from the
 * Dockerfile's last stage, so the benchmark's service process runs as the image runs it and cannot drift from it.
 */
export function imageRuntimeEnv(dockerfile = repositoryDockerfile()): Record<string, string> {
  const text = readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ');
  const runtimeStage = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of runtimeStage.split('\n')) {
    if (!/^ENV\s/.test(line)) continue;
    for (const [key, value] of envPairs(line)) if ((RUNTIME_VARIABLES as readonly string[]).includes(key)) env[key] = value;
  }
  return env;
}
