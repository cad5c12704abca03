import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The production bundle (scripts/bundle-service.mjs) keeps every function's and class's name as the unbundled code
 * has it (Nest's logs and error names, the OpenAPI operation ids), including where esbuild renamed a binding to avoid
 * a clash, while its __name helper skips names that are already right (the per-request closures; issue 14).
 */
const DIR = join('.local-build', 'bundle-names-spec');

const FILES: Record<string, string> = {
  // Two modules declaring the same top-level names: esbuild renames one of each pair in the bundle.
  'a.mjs': `export function next() { return 'a'; }
export class Store {}
export const handlers = { onSend: () => 1, onError: function () { return 2; } };`,
  'b.mjs': `function next() { return 'b'; }
class Store { static kind = 'b'; }
const Named = class Inner {};
export const inner = { next, Store, Named };`,
  'main.mjs': `import { next, Store, handlers } from './a.mjs';
import { inner } from './b.mjs';
function perCall() {
  function done() {}
  const arrow = () => {};
  const reply = { send: () => {}, header: function () {} };
  return [done, arrow, reply.send, reply.header, class Local {}];
}
console.log(JSON.stringify([next, inner.next, Store, inner.Store, inner.Named, handlers.onSend, handlers.onError, ...perCall()].map((f) => f.name)));`,
};

describe('the production bundle (scripts/bundle-service.mjs)', () => {
  beforeAll(() => {
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(DIR, { recursive: true });
    for (const [name, text] of Object.entries(FILES)) writeFileSync(join(DIR, name), text);
  });
  afterAll(() => rmSync(DIR, { recursive: true, force: true }));

  it('gives every function and class the name it has unbundled, renamed bindings and per-call closures included', async () => {
    const script = join(process.cwd(), 'scripts', 'bundle-service.mjs');
    const { bundleService } = (await import(script)) as { bundleService: (entry: string) => Promise<string> };
    const bundle = await bundleService(join(DIR, 'main.mjs'));
    const text = readFileSync(bundle, 'utf8');
    // The clash is real: without keeping names, the renamed bindings would report their new names.
    expect(text).toMatch(/\bnext2\b/);
    expect(text).toMatch(/\bStore2\b/);

    const unbundled = JSON.parse(execFileSync(process.execPath, [join(DIR, 'main.mjs')], { encoding: 'utf8' })) as string[];
    const bundled = JSON.parse(execFileSync(process.execPath, [bundle], { encoding: 'utf8' })) as string[];
    expect(unbundled).toEqual(['next', 'next', 'Store', 'Store', 'Inner', 'onSend', 'onError', 'done', 'arrow', 'send', 'header', 'Local']);
    expect(bundled).toEqual(unbundled);
  });
});
