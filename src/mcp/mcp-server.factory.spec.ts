import { jest } from '@jest/globals';
import type { WorkspaceOperation } from '../workspace/catalogue/operation.js';

// Counts how often each tool's JSON Schemas are derived (zod's toJSONSchema: milliseconds for the whole catalogue).
const derived = new Map<string, number>();
const count = (op: WorkspaceOperation) => derived.set(op.tool, (derived.get(op.tool) ?? 0) + 1);
jest.unstable_mockModule('../workspace/catalogue/operation-input.js', () => ({
  inputJsonSchema: (op: WorkspaceOperation) => (count(op), { type: 'object', properties: {} }),
  outputJsonSchema: (_op: WorkspaceOperation) => ({ type: 'object', properties: {} }),
  validateInput: () => ({ ok: true, input: {} }),
}));

const { buildMcpServer } = await import('./mcp-server.factory.js');
const { InMemoryTransport } = await import('@modelcontextprotocol/server');
const { Client } = await import('@modelcontextprotocol/client');
const { WORKSPACE_CATALOGUE } = await import('../workspace/catalogue/catalogue.js');
const { REQUIRED_SCOPES } = await import('../common/google-scopes.js');

/** tools/list as one stateless request sees it: a fresh server for `scopes`, a client, one listing. */
async function listTools(scopes: string[]) {
  const server = buildMcpServer(WORKSPACE_CATALOGUE, {} as never, { email: 'a@example.com', scopes }, () => undefined);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'spec', version: '1' });
  await server.connect(serverSide);
  await client.connect(clientSide);
  try {
    return (await client.listTools()).tools;
  } finally {
    await client.close();
    await server.close();
  }
}

describe('tools/list', () => {
  it('derives each tool\'s JSON Schemas once, not on every listing (any caller could otherwise hold the event loop with a stream of them)', async () => {
    const gmailRead = [...REQUIRED_SCOPES.gmailRead];
    for (let i = 0; i < 3; i++) await listTools(gmailRead);
    const marked = await listTools([]);
    expect(new Set(derived.values())).toEqual(new Set([1]));
    expect(derived.size).toBe(WORKSPACE_CATALOGUE.length);
    // The per-caller part is still per caller: a token without the scope sees the tool marked.
    const granted = (await listTools(gmailRead)).find((t) => t.name === 'search_gmail_messages');
    const notGranted = marked.find((t) => t.name === 'search_gmail_messages');
    expect(granted?._meta?.['workspace/scopeGranted']).toBe(true);
    expect(notGranted?._meta?.['workspace/scopeGranted']).toBe(false);
    expect(notGranted?.description).toContain('Not granted yet');
  });
});
