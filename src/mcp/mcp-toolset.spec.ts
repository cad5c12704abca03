import { WORKSPACE_CATALOGUE } from '../workspace/catalogue/catalogue.js';
import { selectTools } from './mcp-toolset.js';

const names = (entries: string[], readOnly = false) => selectTools(entries, readOnly).map((op) => op.tool);

describe('MCP_TOOLS and MCP_READ_ONLY', () => {
  it('tiers include the ones before them; all is everything', () => {
    const core = names(['core']);
    const extended = names(['extended']);
    expect(core.length).toBeGreaterThan(0);
    expect(extended).toEqual(expect.arrayContaining(core));
    expect(extended.length).toBeGreaterThan(core.length);
    expect(names(['all'])).toHaveLength(WORKSPACE_CATALOGUE.length);
    expect(names(['complete'])).toHaveLength(WORKSPACE_CATALOGUE.length);
    expect(core).toContain('send_gmail_message');
    expect(core).not.toContain('list_gmail_labels');
  });

  it('services and tool names add up; a tier narrows them', () => {
    expect(names(['tasks', 'get_doc_content']).sort()).toEqual(['complete_task', 'create_task', 'delete_task', 'get_doc_content', 'list_task_lists', 'list_tasks', 'update_task']);
    expect(names(['core', 'tasks'])).not.toContain('list_task_lists'); // complete tier
  });

  it('read-only keeps only read-only tools', () => {
    const ro = selectTools(['all'], true);
    expect(ro.length).toBeGreaterThan(10);
    expect(ro.every((op) => op.hints.readOnlyHint)).toBe(true);
    expect(ro.map((op) => op.tool)).not.toContain('delete_event');
  });

  it('an unknown entry stops the boot, naming MCP_TOOLS and the entry', () => {
    expect(() => names(['core', 'telepathy'])).toThrow(/MCP_TOOLS names telepathy/);
  });
});
