import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envSchema } from '../../src/config/config.schema.js';

/**
 * The README's configuration table is what a deployer reads: every variable the service reads is in it, every
 * variable in it is read (by the service, or by `npm run start:local` for LOCAL_*), and each stated default is the
 * one the code applies.
 */
const ROOT = join(import.meta.dirname, '../..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const table = readme.slice(readme.indexOf('\n## Configuration\n'), readme.indexOf('\n## Architecture\n'));
const rows = table
  .split('\n')
  .filter((l) => l.startsWith('| `'))
  .map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '')));
const LOCAL_ONLY = ['LOCAL_S3_PORT', 'LOCAL_GOOGLE_PORT', 'LOCAL_DATA_DIR'];
const names = (cell: string) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]);
const defaults = envSchema.parse({ GOOGLE_CLIENT_ID: 'x', GOOGLE_CLIENT_SECRET: 'x', JWT_SECRET: 'x'.repeat(32), S3_BUCKET: 'bucket' }) as Record<string, unknown>;

describe('README configuration table', () => {
  it('lists every variable of src/config/config.schema.ts, and only those (plus start:local ones)', () => {
    expect(rows.length).toBeGreaterThan(30);
    const listed = rows.flatMap((r) => names(r[0]));
    const schema = Object.keys(envSchema.shape);
    // S3_SSE_KMS_KEY_ID is explained in S3_SSE's row ("then S3_SSE_KMS_KEY_ID").
    const mentioned = new Set([...listed, ...rows.flatMap((r) => names(r.slice(1).join(' ')))]);
    expect(schema.filter((n) => !mentioned.has(n))).toEqual([]);
    expect(listed.filter((n) => !schema.includes(n) && !LOCAL_ONLY.includes(n))).toEqual([]);
  });

  it('states the defaults the code applies for single-variable rows', () => {
    const checked: string[] = [];
    for (const [cell, def] of rows) {
      const [name, ...more] = names(cell);
      const stated = /^`([^`]*)`/.exec(def ?? '')?.[1];
      if (more.length || stated === undefined || !(name in defaults) || /\$\{/.test(stated)) continue;
      const actual = defaults[name];
      if (actual === undefined || typeof actual === 'object') continue;
      expect(`${name}=${String(actual)}`).toBe(`${name}=${stated}`);
      checked.push(name);
    }
    expect(checked.length).toBeGreaterThan(25);
  });
});
