// `npm run start:local`, in one process (so the signal npm forwards on SIGTERM or Ctrl-C reaches the service):
//   1. a port already in use is reported at once, naming its variable (before any install or compile);
//   2. dependencies installed on the first start (scripts/ensure-deps.mjs, with progress);
//   3. TypeScript compiled only when a source changed since the last build (tsc -b, incremental), otherwise skipped;
//   4. scripts/start-local.ts started in this process.
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDeps, nodeVersionProblem } from './ensure-deps.mjs';

process.env.START_LOCAL_T0 ??= String(Date.now());
const STAMP = '.local-build/.built-at';
const SOURCES = ['src', 'emulators', 'scripts', 'tsconfig.json', 'tsconfig.local.json', 'package-lock.json'];
// Same defaults as LOCAL_PORTS in start-local.ts (this file runs before it is compiled).
const PORTS = { PORT: 3000, METRICS_PORT: 9464, LOCAL_S3_PORT: 4569, LOCAL_GOOGLE_PORT: 4010 };

let child;
const onSignal = (signal) => {
  child?.kill(signal);
  process.exit(signal === 'SIGINT' ? 130 : 143);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** The variable of the first configured port someone listens on, or undefined. */
async function busyPort() {
  const env = process.env;
  const wanted = Object.entries(PORTS)
    .filter(([v]) => !(v === 'LOCAL_S3_PORT' && env.S3_BUCKET) && !(v === 'LOCAL_GOOGLE_PORT' && env.GOOGLE_CLIENT_ID))
    .map(([v, def]) => [v, Number(env[v] ?? def)]);
  for (const [variable, port] of wanted) {
    if (!port) continue;
    const free = await new Promise((done) => {
      const probe = createServer();
      probe.once('error', () => done(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
    });
    if (!free) return { variable, port };
  }
  return undefined;
}

/** The newest modification time under the sources (ms), to decide whether to compile at all. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), s.mtimeMs);
}

function compile() {
  return new Promise((resolve, reject) => {
    child = spawn(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'tsconfig.local.json'], { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error('TypeScript reported errors (above); fix them and start again'))));
  });
}

try {
  const tooOld = nodeVersionProblem();
  if (tooOld) throw new Error(tooOld);
  const busy = await busyPort();
  if (busy) {
    throw new Error(`port ${busy.port} (${busy.variable}) is already in use, probably by another \`npm run start:local\`. Stop that one, or start with ${busy.variable}=<another port>.`);
  }
  await ensureDeps((c) => (child = c));
  const builtAt = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
  if (Math.max(...SOURCES.map(newest)) >= builtAt) {
    const t0 = Date.now();
    console.log(builtAt ? 'compiling the changed TypeScript files...' : 'compiling TypeScript (first start; later starts compile only what changed)...');
    await compile();
    writeFileSync(STAMP, new Date().toISOString());
    console.log(`compiled in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  child = undefined;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const local = await import(pathToFileURL('.local-build/scripts/start-local.js').href);
  await local.main();
} catch (err) {
  console.error(`start:local failed: ${err?.message ?? String(err)}`);
  process.exit(1);
}
