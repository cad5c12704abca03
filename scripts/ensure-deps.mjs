// `npm test` on a fresh clone: install the locked dependencies when node_modules is missing or stale,
// so the README's single test command needs no manual set-up.
import { existsSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';

const lock = 'package-lock.json';
const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000);
if (stale) {
  console.log('[ensure-deps] installing dependencies from package-lock.json');
  try {
    execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
  } catch {
    // npm 11.19's `npm ci` can reject a fresh lockfile (@unrs/resolver-binding-*); fall back to install.
    execSync('npm install --no-audit --no-fund', { stdio: 'inherit' });
  }
}
