// `npm run build`: the locked dependencies (first build on a fresh clone), `nest build` as nest-cli.json configures it
// (arguments are passed on, e.g. `-- --path <tsconfig>`), then the production start file bundled from its output
// (scripts/bundle-service.mjs). A script rather than `a && b && c` in package.json because npm appends the arguments
// to the last command only, and the bundle has to follow the tsconfig the compile used.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { bundleService } from './bundle-service.mjs';
import { ensureDeps } from './ensure-deps.mjs';

/** The tsconfig `nest build` compiles with: `--path`/`-p` if given, else nest-cli.json's tsConfigPath. */
function tsconfigOf(args) {
  const at = args.findIndex((a) => a === '--path' || a === '-p');
  if (at >= 0 && args[at + 1]) return args[at + 1];
  return JSON.parse(readFileSync('nest-cli.json', 'utf8')).compilerOptions?.tsConfigPath ?? 'tsconfig.build.json';
}

/** The compiler's output directory of a tsconfig, following its `extends`. */
function outDirOf(tsconfig) {
  const parsed = ts.getParsedCommandLineOfConfigFile(resolve(tsconfig), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (!parsed?.options.outDir) throw new Error(`${tsconfig} names no outDir`);
  return parsed.options.outDir;
}

const args = process.argv.slice(2);
try {
  await ensureDeps();
  const nest = spawnSync(process.execPath, [join('node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build', ...args], { stdio: 'inherit' });
  if (nest.status !== 0) process.exit(nest.status ?? 1);
  const bundle = await bundleService(join(outDirOf(tsconfigOf(args)), 'main.js'));
  console.log(`production start file: ${bundle}`);
} catch (err) {
  console.error(`build failed: ${err.message}`);
  process.exit(1);
}
