// A fresh clone's first `npm test` or `npm run start:local`: install the locked dependencies when node_modules is
// missing or older than package-lock.json, so the README's commands need no manual set-up. npm prints nothing while
// it works when its output is not a terminal, so a line every few seconds says how far it got.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const lock = 'package-lock.json';
const marker = 'node_modules/.package-lock.json';

/** Whether node_modules is missing or older than the lockfile. */
export function depsStale() {
  return !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000);
}

/** The top-level packages of the lockfile, and how many of them npm has unpacked so far (their package.json exists). */
function unpacked() {
  try {
    const names = Object.keys(JSON.parse(readFileSync(lock, 'utf8')).packages ?? {}).filter((p) => /^node_modules\/(@[^/]+\/)?[^/@]+$/.test(p));
    return `${names.filter((p) => existsSync(`${p}/package.json`)).length} of ${names.length} packages unpacked`;
  } catch {
    return 'reading the lockfile failed';
  }
}

/** Runs npm with `args`, printing progress every 5 s; resolves with its exit code. `onChild` sees the process (to stop it). */
function npm(args, onChild) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { stdio: 'inherit' });
    onChild?.(child);
    const ticker = setInterval(() => {
      console.log(`[ensure-deps] npm ${args[0]}: ${Math.round((Date.now() - t0) / 1000)} s, ${unpacked()}`);
    }, 5000);
    child.on('exit', (code, signal) => {
      clearInterval(ticker);
      resolve(signal ? 1 : (code ?? 1));
    });
  });
}

/**
 * Why this Node.js cannot run the project (older than package.json's engines, >= 20.19), or undefined. Checked
 * first, so a newcomer on an old Node reads what to install instead of npm's EBADENGINE warnings and a crash later.
 */
export function nodeVersionProblem(version = process.versions.node) {
  let wanted = [20, 19];
  try {
    const m = /^>=\s*(\d+)\.(\d+)/.exec(JSON.parse(readFileSync('package.json', 'utf8')).engines?.node ?? '');
    if (m) wanted = [Number(m[1]), Number(m[2])];
  } catch {
    // no package.json here: the default above
  }
  const [major, minor] = version.split('.').map(Number);
  if (major > wanted[0] || (major === wanted[0] && minor >= wanted[1])) return undefined;
  return `Node.js ${version} is too old: this project needs Node.js ${wanted.join('.')} or newer (Node 22 or 24 LTS recommended). Install one (e.g. \`nvm install 24\`) and run the command again.`;
}

/** Installs the locked dependencies when needed; throws when npm fails or this Node.js is too old. */
export async function ensureDeps(onChild) {
  const tooOld = nodeVersionProblem();
  if (tooOld) throw new Error(tooOld);
  if (!depsStale()) return;
  const t0 = Date.now();
  console.log('[ensure-deps] installing dependencies from package-lock.json (first start only; about 1-3 minutes)');
  let code = await npm(['ci', '--no-audit', '--no-fund', '--no-progress'], onChild);
  // npm 11.19's `npm ci` can reject a fresh lockfile (@unrs/resolver-binding-*); fall back to install.
  if (code !== 0) code = await npm(['install', '--no-audit', '--no-fund', '--no-progress'], onChild);
  if (code !== 0) throw new Error(`npm could not install the dependencies (exit ${code}); see its messages above`);
  console.log(`[ensure-deps] dependencies installed in ${Math.round((Date.now() - t0) / 1000)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  ensureDeps().catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
