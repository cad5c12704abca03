import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The variables of the image's runtime stage that change how node and the C library use memory. */
const RUNTIME_VARIABLES = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const;

/** `KEY=value` pairs of one Dockerfile ENV instruction (values may be double-quoted). */
function envPairs(instruction: string): Array<[string, string]> {
  return [...instruction.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S+)/g)].map(([, key, raw]) => [key, raw.startsWith('"') ? raw.slice(1, -1) : raw]);
}

/** A file of the repository, from bench/ (sources, under jest) or .local-build/bench/ (compiled). */
function repositoryFile(path: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = [join(here, '..', path), join(here, '..', '..', path)].find((f) => existsSync(f));
  if (!found) throw new Error(`No ${path} above ${here}: the bench runs the service with the production memory settings and reads them there.`);
  return found;
}

/**
 * Every variable the image's runtime stage sets (its ENV lines: NODE_ENV, PORT, MALLOC_ARENA_MAX), read from the
 * Dockerfile so a process started "as the image starts it" (the image-node specs' replicas) cannot drift from it.
 */
export function imageEnv(dockerfile = repositoryFile('Dockerfile')): Record<string, string> {
  const text = readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ');
  const runtimeStage = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of runtimeStage.split('\n')) {
    if (!/^ENV\s/.test(line)) continue;
    for (const [key, value] of envPairs(line)) env[key] = value;
  }
  return env;
}

/**
 * The memory settings the production image runs the service with (NODE_OPTIONS, MALLOC_ARENA_MAX), read from the
 * Dockerfile's last stage, so the benchmark's service process runs as the image runs it and cannot drift from it.
 */
export function imageRuntimeEnv(dockerfile = repositoryFile('Dockerfile')): Record<string, string> {
  return Object.fromEntries(Object.entries(imageEnv(dockerfile)).filter(([key]) => (RUNTIME_VARIABLES as readonly string[]).includes(key)));
}

/**
 * The memory settings the Kubernetes Deployment adds to the image's (deploy/kubernetes/deployment.yaml: NODE_OPTIONS
 * with V8's heap limit sized to the container's memory limit), read from the manifest's first container.
 */
export function deploymentRuntimeEnv(manifest = repositoryFile('deploy/kubernetes/deployment.yaml')): Record<string, string> {
  const deployment = parseAllDocuments(readFileSync(manifest, 'utf8'))
    .map((d) => d.toJSON() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } } })
    .find((d) => d?.kind === 'Deployment');
  const env: Record<string, string> = {};
  for (const { name, value } of deployment?.spec?.template?.spec?.containers?.[0]?.env ?? []) {
    if ((RUNTIME_VARIABLES as readonly string[]).includes(name) && value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * What a replica runs with in production: the image's settings, then the Deployment's on top (as Kubernetes does:
 * a container's env replaces the image's variable of the same name). Every benchmark's service process runs with
 * it, so memory figures are those of the shipped configuration, not of node's defaults on a 24 GB machine (where
 * V8 lets its heap grow toward gigabytes before collecting hard).
 */
export function productionRuntimeEnv(): Record<string, string> {
  return { ...imageRuntimeEnv(), ...deploymentRuntimeEnv() };
}
