import { readFileSync } from 'node:fs';
import { toolTable } from './tool-table.js';

describe('docs/mcp.md tool list', () => {
  it('is the catalogue (regenerate it with toolTable() when an operation changes)', () => {
    const doc = readFileSync(new URL('../../docs/mcp.md', import.meta.url), 'utf8');
    const start = doc.indexOf('<!-- mcp-tools:start -->');
    const end = doc.indexOf('<!-- mcp-tools:end -->');
    expect(start).toBeGreaterThan(0);
    expect(doc.slice(start + '<!-- mcp-tools:start -->'.length, end).trim()).toBe(toolTable());
  });
});
