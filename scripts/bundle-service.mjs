// The production start file: the compiled service (tsc output, decorators' metadata already emitted) bundled by
// esbuild into one ES module, `main.bundle.mjs` beside the entry. Why: a cold replica spent most of its start
// resolving, opening and compiling ~1,800 files one by one (rxjs, es-toolkit, Nest, zod...); from one file the service is
// ready in about two thirds of the time (BENCHMARKS.md, target 6), which is what a scale-out or a rollout waits for. No behaviour changes:
// the same compiled code, class names kept (Nest's logs and OpenAPI operation ids use them).
//
// Left out of the bundle, loaded from node_modules when first used, as in the unbundled service:
//   - what the service imports lazily on purpose (src/common/lazy-import.ts): the Google API clients, the Google
//     auth library and its transport, the MCP SDK; a replica that never serves them never loads them;
//   - the optional packages Nest and its Fastify adapter look for only when an app uses them (microservices,
//     websockets, Express, class-validator, multipart, views), and those @nestjs/terminus imports only when an app
//     uses one of its indicators (the databases' ORMs, @nestjs/axios for HTTP; since 12.2 with literal specifiers,
//     which esbuild tries to resolve); this service uses none, so they are not installed.
// A new package that cannot be resolved fails the build here, naming it, rather than the replica at run time.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const LAZY = ['@googleapis/*', 'google-auth-library', '@modelcontextprotocol/*', '@whatwg-node/*'];
const NEST_OPTIONAL = [
  '@nestjs/microservices',
  '@nestjs/microservices/*',
  '@nestjs/websockets/*',
  '@nestjs/platform-express',
  '@fastify/multipart',
  '@fastify/view',
  'class-transformer',
  'class-validator',
  // @nestjs/terminus' indicators for databases and HTTP (the service's own S3 check uses none of them).
  '@mikro-orm/core',
  '@nestjs/axios',
  '@nestjs/mongoose',
  '@nestjs/sequelize',
  '@nestjs/typeorm',
];

// keepNames makes esbuild wrap every function and class it emits in `__name(fn, "name")`, a defineProperty call, so
// that names survive its renaming (1,160 functions and 133 classes here, Nest's and the AWS SDK's among them; without
// it `NestApplication.name` would read "_NestApplication"). For the closures libraries create per request (Fastify's
// hook runners build three per hook list, its response listener one) that was about 8% of the CPU of an
// authenticated request (issue 14). Most of them are function declarations whose name is already right, so the
// helper skips the defineProperty when the name matches: the same names, the same property, without the call into
// the runtime. It is replaced in place at the same length (hence `==`: the name and the value are both strings), so
// the linked source map stays exact; an esbuild that writes its helper differently fails the build here.
const ESBUILD_NAME_HELPER = 'var __name=(target,value)=>__defProp(target,"name",{value,configurable:!0})';
const NAME_HELPER_SKIPPING_KEPT = 'var __name=(t,v)=>t.name==v?t:__defProp(t,"name",{value:v,configurable:!0})';

/** `code` with esbuild's __name helper replaced by one that leaves names that are already right alone. */
function withCheapNameHelper(code) {
  const at = code.indexOf(ESBUILD_NAME_HELPER);
  if (at < 0 || code.indexOf(ESBUILD_NAME_HELPER, at + 1) >= 0) throw new Error("esbuild's __name helper is not written as expected: check ESBUILD_NAME_HELPER against this esbuild");
  if (NAME_HELPER_SKIPPING_KEPT.length > ESBUILD_NAME_HELPER.length) throw new Error('the replacement __name helper must not be longer than the original (source map columns)');
  return code.slice(0, at) + NAME_HELPER_SKIPPING_KEPT.padEnd(ESBUILD_NAME_HELPER.length, ' ') + code.slice(at + ESBUILD_NAME_HELPER.length);
}

/** Bundles the compiled entry (e.g. dist/main.js) into main.bundle.mjs beside it; returns the bundle's path. */
export async function bundleService(entry) {
  const outfile = join(dirname(entry), 'main.bundle.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    keepNames: true,
    // Whitespace and syntax only, identifiers kept (stack traces stay readable): V8 holds a script's source for as
    // long as it runs, and the unminified bundle's 7 MB cost that much heap on every replica.
    minifyWhitespace: true,
    minifySyntax: true,
    external: [...LAZY, ...NEST_OPTIONAL],
    // CommonJS packages inside an ES module bundle still call require() (node built-ins, the externals above).
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  writeFileSync(outfile, withCheapNameHelper(readFileSync(outfile, 'utf8')));
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const entry = process.argv[2];
  if (!entry) {
    console.error('usage: node scripts/bundle-service.mjs <compiled entry, e.g. dist/main.js>');
    process.exit(2);
  }
  const t0 = Date.now();
  const outfile = await bundleService(entry).catch((err) => {
    console.error(`bundling ${entry} failed: ${err.message}`);
    process.exit(1);
  });
  console.log(`bundled ${entry} into ${relative(process.cwd(), outfile)} in ${Date.now() - t0} ms`);
}
