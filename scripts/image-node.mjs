// The Node the production image runs (the Dockerfile's `FROM node:<version>-...`), for running the built service on
// it while the tests themselves stay on this machine's Node (`npm run test:e2e:image-node`). The binary comes from the
// npm registry, the one network CI machines reach: the `node-<platform>-<arch>` package at exactly the Dockerfile's
// version (the one the `node` package installs), unpacked once under node_modules/.cache/image-node/.
//
//   node scripts/image-node.mjs                 prints the binary's path (downloading it first if needed)
//   node scripts/image-node.mjs -- <cmd> [...]  runs <cmd> with SERVICE_NODE (the binary) and SERVICE_NODE_VERSION
//                                               (`v<version>`, what the specs expect the service to report) set
//
// Any failure (no version in the Dockerfile, the download, a binary that does not report that version) ends the
// script with exit code 1 and one message saying what to do; the command is then not run, so a run cannot fall back
// to this machine's Node without anyone noticing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'image-node');

class ImageNodeError extends Error {}

/** The Node version every `FROM node:<version>...` line of the Dockerfile names; they must agree. */
export function imageNodeVersion(dockerfile = join(ROOT, 'Dockerfile')) {
  const text = readFileSync(dockerfile, 'utf8');
  const versions = [...text.matchAll(/^FROM\s+(?:--platform=\S+\s+)?node:(\d+\.\d+\.\d+)\S*/gim)].map((m) => m[1]);
  if (versions.length === 0) throw new ImageNodeError(`${dockerfile} has no "FROM node:<major.minor.patch>-..." line: pin the image's Node to an exact version there`);
  const distinct = [...new Set(versions)];
  if (distinct.length > 1) throw new ImageNodeError(`${dockerfile}'s stages name different Node versions (${distinct.join(', ')}): build and runtime stages should use the same one`);
  return distinct[0];
}

/** What `<binary> --version` prints, or undefined when it does not run. */
function versionOf(binary) {
  const run = spawnSync(binary, ['--version'], { encoding: 'utf8', env: {}, timeout: 30_000 });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/** The last lines of a failed command's output, for the message. */
function tail(text, lines = 6) {
  return (text ?? '').trim().split('\n').slice(-lines).join('\n');
}

/**
 * The path of the image's Node binary for this machine, downloaded and unpacked into the cache on first use; throws
 * with a message saying what to do when it cannot be had.
 */
export function ensureImageNode(version = imageNodeVersion()) {
  const pkg = `node-${process.platform}-${process.arch}`;
  const dir = join(CACHE, `${pkg}-${version}`);
  const binary = join(dir, 'bin', 'node');
  if (existsSync(binary) && versionOf(binary) === `v${version}`) return binary;

  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, '.download-'));
  try {
    // npm pack checks the tarball against the registry's integrity hash; its own cache makes a repeat cheap.
    const pack = spawnSync('npm', ['pack', `${pkg}@${version}`, '--pack-destination', work, '--json'], { encoding: 'utf8', timeout: 600_000 });
    if (pack.error || pack.status !== 0) {
      throw new ImageNodeError(
        `could not download Node ${version} (the Dockerfile's image) from the npm registry as ${pkg}@${version}` +
          ` (npm pack ${pack.error ? `failed to run: ${pack.error.message}` : `exited ${pack.status}`}):\n${tail(pack.stderr, 10)}\n` +
          `Check that the registry is reachable (npm config get registry) and that ${pkg} is published for ${version}` +
          ` (npm view ${pkg}@${version} version); the image-runtime tests cannot run without it.`,
      );
    }
    let tarball;
    try {
      tarball = join(work, JSON.parse(pack.stdout)[0].filename);
    } catch {
      throw new ImageNodeError(`npm pack ${pkg}@${version} did not say which file it wrote (output: ${tail(pack.stdout, 3)}); run it by hand to see why`);
    }
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', unpacked], { encoding: 'utf8' });
    if (untar.error || untar.status !== 0) throw new ImageNodeError(`could not unpack ${tarball}: ${untar.error?.message ?? tail(untar.stderr)}`);
    const got = versionOf(join(unpacked, 'package', 'bin', 'node'));
    if (got !== `v${version}`) {
      throw new ImageNodeError(`${pkg}@${version} from the registry holds no runnable bin/node reporting v${version} (it reported ${got ?? 'nothing'}): this machine may not run that build`);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(unpacked, 'package'), dir);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const command = args[0] === '--' ? args.slice(1) : [];
  if (args.length > 0 && command.length === 0) {
    console.error('usage: node scripts/image-node.mjs [-- <command> [args...]]');
    process.exit(2);
  }
  let binary;
  let version;
  try {
    version = imageNodeVersion();
    const t0 = Date.now();
    binary = ensureImageNode(version);
    if (command.length === 0) {
      console.log(binary);
      process.exit(0);
    }
    console.error(`[image-node] the service runs on Node v${version} (${binary}, ready in ${Date.now() - t0} ms); ${command[0]} on this machine's ${process.version}`);
  } catch (err) {
    console.error(`[image-node] ${err instanceof ImageNodeError ? err.message : err.stack}`);
    process.exit(1);
  }
  const run = spawnSync(command[0], command.slice(1), { stdio: 'inherit', env: { ...process.env, SERVICE_NODE: binary, SERVICE_NODE_VERSION: `v${version}` } });
  if (run.error) console.error(`[image-node] could not run ${command[0]}: ${run.error.message}`);
  process.exit(run.status ?? 1);
}
