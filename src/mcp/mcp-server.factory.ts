import { createMcpHandler, ProtocolError, ProtocolErrorCode, Server, type CallToolResult, type McpHttpHandler, type Tool } from '@modelcontextprotocol/server';
import { DomainError } from '../common/domain-error.js';
import { ReauthRequiredError } from '../credentials/credentials.errors.js';
import type { WorkspaceOperation } from '../workspace/catalogue/operation.js';
import { inputJsonSchema, outputJsonSchema, validateInput } from '../workspace/catalogue/operation-input.js';
import type { WorkspaceOperations } from '../workspace/catalogue/workspace-operations.js';
import { recommendedScope } from '../common/google-scopes.js';
import { callFileScope, tokenReachOf, type McpCaller } from './mcp-caller.js';
import { invalidArguments, reauthorizeError, regrantError, toolError, toolResult } from './tool-results.js';

export const SERVER_INFO = { name: 'workspace-credential-broker', version: '0.1.0' };

const INSTRUCTIONS =
  "Google Workspace (Gmail, Drive, Calendar, Docs, Sheets, Tasks, Contacts) of the signed-in user. Every tool acts as that user; there is no user argument. A tool whose scope the token lacks is marked in its description: calling it answers 403 insufficient_scope, and the client authorizes again with that scope.";

type ToolSchemas = Pick<Tool, 'inputSchema' | 'outputSchema'>;

/**
 * Each operation's JSON Schemas, derived on first use and kept: they never change, and deriving them all (zod's
 * toJSONSchema) took 8 to 85 ms of the event loop on every tools/list (built service, this machine), which every MCP
 * client sends when it connects, and which any caller with a token could send in a loop to stall every request of
 * the replica. Shared by every answer; nothing modifies them.
 */
const schemas = new WeakMap<WorkspaceOperation, ToolSchemas>();

function schemasOf(op: WorkspaceOperation): ToolSchemas {
  let known = schemas.get(op);
  if (!known) {
    known = { inputSchema: inputJsonSchema(op) as Tool['inputSchema'], outputSchema: outputJsonSchema(op) as Tool['outputSchema'] };
    schemas.set(op, known);
  }
  return known;
}

/** What the description of a tool says about the caller's token: nothing when it reaches every file. */
function reachNote(reach: 'all' | 'own' | 'none', scope: string): string {
  if (reach === 'none') return ` (Not granted yet: needs the scope ${scope}; calling it asks you to authorize again.)`;
  return reach === 'own' ? ' (With this token it reaches only the Drive files this application created.)' : '';
}

/** The MCP description of an operation, marked when the caller's token lacks its scope or reaches only its own files. */
function describe(op: WorkspaceOperation, caller: McpCaller): Tool {
  const reach = tokenReachOf(caller, op.scope);
  const granted = reach !== 'none';
  const scope = recommendedScope(op.scope);
  return {
    name: op.tool,
    title: op.title,
    description: `${op.description}${reachNote(reach, scope)}`,
    ...schemasOf(op),
    annotations: { title: op.title, ...op.hints },
    _meta: { 'workspace/service': op.api, 'workspace/tier': op.tier, 'workspace/scope': scope, 'workspace/scopeGranted': granted },
  };
}

/**
 * One MCP server instance for one HTTP request and its verified caller: nothing lives between requests, so any
 * replica answers any request (the SDK's stateless serving). Tools come from the Workspace catalogue.
 */
export function buildMcpServer(tools: readonly WorkspaceOperation[], operations: WorkspaceOperations, caller: McpCaller, onUnexpected: (err: unknown, tool: string) => void): Server {
  const server = new Server(SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  server.setRequestHandler('tools/list', () => ({ tools: tools.map((op) => describe(op, caller)) }));
  server.setRequestHandler('tools/call', async (request): Promise<CallToolResult> => {
    const op = tools.find((t) => t.tool === request.params.name);
    // An unknown tool is a protocol error (-32602): no tool ran, and the client has to list tools again.
    if (!op) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${request.params.name}. Call tools/list for the tools this server offers.`);
    // A call whose files McpController checked runs with the input it checked them in (McpCaller.checkedCall).
    const checked = caller.checkedCall?.op === op ? caller.checkedCall : undefined;
    // Arguments the tool's schema refuses are the tool's error (isError), for the model to read and correct
    // (SEP-1303); nothing has reached Google.
    const parsed = checked?.parsed ?? validateInput(op, request.params.arguments);
    if (!parsed.ok) return toolError(invalidArguments(op, parsed.problems));
    const failed = (err: unknown) => toolFailure(err, op, caller, onUnexpected);
    // The check of the call's files could not be made (McpController): the tool does not run unchecked.
    if (caller.fileCheckFailure !== undefined) return failed(caller.fileCheckFailure);
    try {
      const files = checked ? checked.files : callFileScope(caller, op, request.params.arguments);
      return toolResult(op, await operations.run(op, caller.email, parsed.input, files));
    } catch (err) {
      return failed(err);
    }
  });
  return server;
}

/** A tool's failure as its tool error, worded for an application and the person using it, not for a REST consumer. */
function toolFailure(err: unknown, op: WorkspaceOperation, caller: McpCaller, onUnexpected: (err: unknown, tool: string) => void): CallToolResult {
  if (err instanceof ReauthRequiredError) return toolError(reauthorizeError(err));
  if (err instanceof DomainError && err.error === 'insufficient_scope' && caller.oauthClient) return toolError(regrantError(err));
  if (err instanceof DomainError) return toolError(err);
  onUnexpected(err, op.tool);
  return toolError(new DomainError(500, 'internal_error', 'The tool failed unexpectedly. Retry; if it keeps failing, report it with the time of the call.'));
}

/** What an MCP request handler needs from the controller: the tools, how to run them, and where problems go. */
export interface McpHandlerSetup {
  tools: readonly WorkspaceOperation[];
  operations: WorkspaceOperations;
  onUnexpected: (err: unknown, tool: string) => void;
  onRefused: (err: Error) => void;
}

/**
 * The SDK's stateless Streamable HTTP handler: each request gets a server built for its verified caller (the
 * controller passes it as `authInfo.extra.caller`). This module is the only one that loads the MCP SDK at run time;
 * the controller imports it on the first /mcp request (mcp.controller.ts says why).
 */
export function createStatelessMcpHandler(setup: McpHandlerSetup): McpHttpHandler {
  return createMcpHandler((ctx) => buildMcpServer(setup.tools, setup.operations, ctx.authInfo?.extra?.caller as McpCaller, setup.onUnexpected), {
    legacy: 'stateless',
    onerror: setup.onRefused,
  });
}
