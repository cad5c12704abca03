import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import type { FileScope } from '../workspace/app-files/app-file-marker.js';
import { WORKSPACE_CATALOGUE } from '../workspace/catalogue/catalogue.js';
import type { OperationInput } from '../workspace/catalogue/operation.js';
import { validateInput } from '../workspace/catalogue/operation-input.js';
import type { WorkspaceOperations } from '../workspace/catalogue/workspace-operations.js';
import { buildMcpServer } from './mcp-server.factory.js';
import type { McpCaller } from './mcp-caller.js';

const G = 'https://www.googleapis.com/auth/';
const getDoc = WORKSPACE_CATALOGUE.find((op) => op.tool === 'get_doc_content')!;
const checkedFiles: FileScope = { marker: 'm4rk', ownOnly: true, stepUp: [`${G}documents.readonly`], markRequired: true };

/** One tools/call of get_doc_content with `args` by `caller`; answers what the operation ran with, and the result. */
async function callGetDoc(caller: McpCaller, args: Record<string, unknown>) {
  const ran: Array<{ input: OperationInput; files?: FileScope }> = [];
  const operations = {
    run: async (_op: unknown, _email: string, input: OperationInput, files?: FileScope) => {
      ran.push({ input, files });
      return { documentId: input.documentId, title: 't', revisionId: null, text: 'x' };
    },
  } as unknown as WorkspaceOperations;
  const server = buildMcpServer([getDoc], operations, caller, () => undefined);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'spec', version: '1' });
  await server.connect(serverSide);
  await client.connect(clientSide);
  try {
    const result = await client.callTool({ name: 'get_doc_content', arguments: args });
    return { ran, result };
  } finally {
    await client.close();
    await server.close();
  }
}

describe('a tool call whose files McpController checked', () => {
  const caller = (): McpCaller => ({ email: 'ada@example.com', scopes: [`${G}drive.file`], oauthClient: true, clientId: 'c' });

  it('runs with the input and drive.file scope the check was made on, not a second reading of the message', async () => {
    const checked = caller();
    checked.checkedCall = { op: getDoc, parsed: validateInput(getDoc, { documentId: 'checkedDoc123' }), files: checkedFiles };
    const { ran } = await callGetDoc(checked, { documentId: 'otherDoc456' });
    expect(ran).toEqual([{ input: { documentId: 'checkedDoc123' }, files: checkedFiles }]);
  });

  it('answers the problems found by the check as the tool error, without running', async () => {
    const checked = caller();
    checked.checkedCall = { op: getDoc, parsed: validateInput(getDoc, { documentId: 'not an id!' }), files: checkedFiles };
    const { ran, result } = await callGetDoc(checked, { documentId: 'not an id!' });
    expect(ran).toEqual([]);
    expect(result.isError).toBe(true);
    expect((result.content as Array<{ text: string }>)[0].text).toContain('documentId');
  });

  it('validates the arguments itself when no check was made for this tool', async () => {
    const other = caller();
    other.checkedCall = { op: WORKSPACE_CATALOGUE.find((op) => op.tool === 'get_drive_file_content')!, parsed: { ok: true, input: { fileId: 'elsewhere1' } }, files: checkedFiles };
    const { ran } = await callGetDoc(other, { documentId: 'ownDoc789' });
    expect(ran.map((r) => r.input)).toEqual([{ documentId: 'ownDoc789' }]);
    expect(ran[0].files).toMatchObject({ ownOnly: true, stepUp: [`${G}documents.readonly`] });
  });
});
