import { readFileSync } from 'node:fs';
import { toolTable } from './tool-table.js';

describe('README tool list', () => {
  it('is the catalogue (regenerate it with toolTable() when an operation changes)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('<!-- mcp-tools:start -->');
    const end = readme.indexOf('<!-- mcp-tools:end -->');
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start + '<!-- mcp-tools:start -->'.length, end).trim()).toBe(toolTable());
  });
});
