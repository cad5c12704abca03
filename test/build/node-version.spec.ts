import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The README's commands on a Node.js older than package.json's engines (>= 20.19): the first thing printed says so
 * and what to install, before npm installs anything or the TypeScript is compiled. Node 18 is simulated (the check
 * reads process.versions.node, which a preload replaces).
 */
const ROOT = join(import.meta.dirname, '../..');
const AS_NODE_18 = 'data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"18.19.0"}})';

function run(script: string) {
  return spawnSync(process.execPath, ['--import', AS_NODE_18, script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PORT: '0', LOCAL_S3_PORT: '0', LOCAL_GOOGLE_PORT: '0' }, timeout: 20_000 });
}

describe('an unsupported Node.js', () => {
  it.each([
    ['npm run start:local', 'scripts/launch-local.mjs'],
    ['npm test (and every script that installs the dependencies first)', 'scripts/ensure-deps.mjs'],
    ['npm run build', 'scripts/build.mjs'],
  ])('%s stops at once, naming the version found, the one needed and what to do', (_command, script) => {
    const res = run(script);
    expect(res.status).toBe(1);
    const output = `${res.stdout}${res.stderr}`;
    expect(output).toContain('Node.js 18.19.0 is too old: this project needs Node.js 20.19 or newer');
    expect(output).toMatch(/nvm install 24/);
    expect(output).not.toMatch(/installing dependencies|compiling/);
  });
});
