import { DomainError } from './domain-error.js';
import { LazyImport } from './lazy-import.js';

/** An importer whose imports the test settles by hand, counting how many were started. */
function controlledImporter<M>() {
  const started: Array<{ resolve: (m: M) => void; reject: (e: Error) => void }> = [];
  const importer = () => new Promise<M>((resolve, reject) => started.push({ resolve, reject }));
  return { importer, started };
}

describe('LazyImport', () => {
  it('imports nothing until asked; concurrent first callers share one import; then the module is at hand synchronously', async () => {
    const { importer, started } = controlledImporter<{ name: string }>();
    const lazy = new LazyImport('The MCP endpoint', importer);
    expect(started).toHaveLength(0);
    expect(lazy.loaded).toBeUndefined();
    const callers = Array.from({ length: 20 }, () => lazy.load());
    expect(started).toHaveLength(1);
    const module = { name: 'sdk' };
    started[0].resolve(module);
    for (const got of await Promise.all(callers)) expect(got).toBe(module);
    expect(lazy.loaded).toBe(module);
    expect(await lazy.load()).toBe(module);
    expect(started).toHaveLength(1);
  });

  it('a failed import is a 503 naming the feature, with no internals; the cause goes to the log; the next call tries again', async () => {
    const { importer, started } = controlledImporter<string>();
    const logged: unknown[] = [];
    const lazy = new LazyImport('The MCP endpoint', importer, (err) => logged.push(err));
    const callers = [lazy.load(), lazy.load()];
    const cause = new Error("Cannot find package '@modelcontextprotocol/server' imported from /app/dist/mcp/mcp.controller.js");
    started[0].reject(cause);
    for (const caller of callers) {
      const err = (await caller.catch((e: unknown) => e)) as DomainError;
      expect(err).toBeInstanceOf(DomainError);
      expect(err.status).toBe(503);
      expect(err.error).toBe('feature_unavailable');
      expect(err.message).toMatch(/^The MCP endpoint is unavailable on this instance/);
      expect(err.message).toMatch(/Retry in a few seconds/);
      expect(err.message).not.toContain('/app/dist');
      expect(err.headers['Retry-After']).toBe('5');
    }
    expect(logged).toEqual([cause]); // once, however many callers shared the import
    expect(lazy.loaded).toBeUndefined();

    const retry = lazy.load();
    expect(started).toHaveLength(2);
    started[1].resolve('sdk');
    expect(await retry).toBe('sdk');
    expect(lazy.loaded).toBe('sdk');
  });
});
