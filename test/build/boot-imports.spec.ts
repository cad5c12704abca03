import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The libraries loaded on first use rather than at boot (src/common/lazy-import.ts): the MCP SDK on the first /mcp
 * request, each googleapis package (and google-auth-library and the Google transport under them) on the first call
 * to its API. A static
 * value import of one of them anywhere in the graph main.ts loads at boot would quietly put its memory back into
 * every replica's idle RSS; this walks that graph as Node does (type-only imports are erased, import() is not
 * followed) and names the file that would.
 */
const ROOT = join(import.meta.dirname, '../..');
const LOADED_ON_FIRST_USE = [/^@modelcontextprotocol\//, /^@googleapis\//, /^google-auth-library$/, /^googleapis(-common)?$/, /^@whatwg-node\//];

/** The modules a file imports for their values at load time (static imports and re-exports, not `import type`). */
function staticValueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const out: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      const onlyTypes = clause && !clause.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (!onlyTypes) out.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) {
      out.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return out;
}

/** Every package the boot loads, with the first source file that imports it. */
function bootPackages(entry: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of staticValueImports(file)) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
        if (existsSync(target)) queue.push(target);
      } else if (!specifier.startsWith('node:') && !packages.has(specifier)) {
        packages.set(specifier, file.slice(ROOT.length + 1));
      }
    }
  }
  return packages;
}

describe('what the service loads at boot', () => {
  it('leaves out the MCP SDK, the googleapis packages and google-auth-library (they load on first use)', () => {
    const packages = bootPackages(join(ROOT, 'src/main.ts'));
    // The walk sees the boot's own libraries, so it is following the graph.
    expect(packages.has('@nestjs/core')).toBe(true);
    expect(packages.has('@aws-sdk/client-s3')).toBe(true);
    const eager = [...packages].filter(([name]) => LOADED_ON_FIRST_USE.some((p) => p.test(name))).map(([name, by]) => `${name} (imported by ${by})`);
    expect(eager).toEqual([]);
  });

  it('the lazily imported modules do import those libraries (so the walk above would catch a static import of them)', () => {
    expect(staticValueImports(join(ROOT, 'src/mcp/mcp-server.factory.ts'))).toContain('@modelcontextprotocol/server');
    expect(readFileSync(join(ROOT, 'src/mcp/mcp.controller.ts'), 'utf8')).toContain("import('./mcp-server.factory.js')");
    expect(readFileSync(join(ROOT, 'src/workspace/google-apis.ts'), 'utf8')).toContain("import('@googleapis/gmail')");
  });
});
