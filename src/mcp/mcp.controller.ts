import { Controller, Delete, Get, Logger, OnModuleInit, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeController } from '@nestjs/swagger';
import type { McpHttpHandler } from '@modelcontextprotocol/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { AppConfig } from '../config/app-config.js';
import { DomainError } from '../common/domain-error.js';
import { LazyImport } from '../common/lazy-import.js';
import { CurrentPrincipal, type Principal } from '../sessions/principal.js';
import type { WorkspaceOperation } from '../workspace/catalogue/operation.js';
import { WorkspaceOperations } from '../workspace/catalogue/workspace-operations.js';
import { insufficientTokenScope } from '../workspace/token-scope.guard.js';
import { unmetInputNeed } from '../workspace/input-scope.js';
import { AppFiles, fileIdsIn, NotOwnFileError } from '../workspace/app-files/app-files.js';
import { validateInput } from '../workspace/catalogue/operation-input.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { scopesAccepted, scopesToRequest } from '../common/google-scopes.js';
import { callFileScope, mcpCaller, tokenAllows, type McpCaller } from './mcp-caller.js';
import { selectTools } from './mcp-toolset.js';

/** A tools/call message: the operation behind the tool, and its arguments as they came (not validated yet). */
interface ToolCall {
  op: WorkspaceOperation;
  args: unknown;
}

/** The resource path of the MCP endpoint (RFC 8707 resource `PUBLIC_URL/mcp`). */
export const MCP_PATH = '/mcp';

/**
 * The next step of every 401 at /mcp (no token, an unreadable header, a forged, expired or ended one, one for another
 * resource). The MCP client acts on the challenge (WWW-Authenticate: its resource_metadata leads to our OAuth
 * authorization server; refresh, else authorize); this body is read by the person and the model, for whom the
 * REST default, sign in at /auth/google, neither connects the application nor is theirs to do: that sign-in ends on
 * the token page, and nothing hands its token to the application. Worded as the tool errors are (tool-results.ts,
 * reauthorizeError).
 */
const MCP_SIGN_IN_HINT =
  'Connect this application again (OAuth: see resource_metadata in WWW-Authenticate): an MCP client does it by itself and asks you to sign in with Google and allow access; if it does not, disconnect and reconnect this server in the application.';

/**
 * `POST /mcp`: MCP Streamable HTTP, stateless. The bearer guard (global) has verified the caller before this runs;
 * each request gets a fresh MCP server for that caller, so no replica holds anything another one would need.
 * GET and DELETE are answered by the SDK as a server without server-initiated streams or sessions does (405).
 */
@ApiExcludeController()
@ApiBearerAuth('bearer')
@Controller('mcp')
export class McpController implements OnModuleInit {
  private readonly logger = new Logger('Mcp');
  /**
   * The MCP SDK (and the handler built on it) is imported on the first /mcp request, not at boot: about 4 MB of heap
   * and 6 MB of resident memory, and part of the boot's module loading, that a replica serving only the REST API
   * never needs (measured on the built service).
   */
  private readonly handler: LazyImport<McpHttpHandler>;
  private readonly tools: WorkspaceOperation[];
  private readonly base: string;
  /** What the browser sign-in asks Google for (GOOGLE_SCOPES): the 403's advice to a browser sign-in's user depends on it. */
  private readonly signInScopes: readonly string[];

  constructor(
    operations: WorkspaceOperations,
    config: AppConfig,
    private readonly resources: ProtectedResources,
    private readonly appFiles: AppFiles,
  ) {
    this.base = config.values.publicUrl;
    this.signInScopes = config.values.google.scopes;
    this.tools = selectTools(config.values.mcp.tools, config.values.mcp.readOnly);
    const setup = {
      tools: this.tools,
      operations,
      onUnexpected: (err: unknown, tool: string) => this.logger.error({ msg: 'tool failed', tool, error: (err as Error)?.name, detail: (err as Error)?.message }),
      onRefused: (err: Error) => this.logger.warn({ msg: 'mcp request refused', detail: err.message }),
    };
    this.handler = new LazyImport(
      'The MCP endpoint',
      async () => (await import('./mcp-server.factory.js')).createStatelessMcpHandler(setup),
      (err) => this.logger.error({ msg: 'MCP SDK failed to load', error: (err as Error)?.name, detail: (err as Error)?.message }),
    );
  }

  /** `/mcp` is an RFC 8707 resource of its own: tokens for it, metadata at /.well-known/oauth-protected-resource/mcp. */
  onModuleInit(): void {
    const needs = [...new Set(this.tools.map((op) => op.scope))];
    this.resources.register({ path: MCP_PATH, routes: [MCP_PATH], name: 'Google Workspace MCP server', scopesSupported: scopesAccepted(needs), scopesToRequest: scopesToRequest(needs), signInHint: MCP_SIGN_IN_HINT });
  }

  @Post()
  async post(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @CurrentPrincipal() me: Principal) {
    // JSON-RPC batches left MCP with 2025-06-18, the oldest revision served here; the SDK would still run up to 100
    // messages of one request (100 file reads: one small request holding ~150 MB), so they are refused.
    if (Array.isArray(req.body)) {
      throw new DomainError(400, 'batch_not_supported', 'JSON-RPC batches are not part of MCP since 2025-06-18: send one JSON-RPC message per POST.');
    }
    const caller = mcpCaller(me);
    const call = this.toolCall(req.body);
    if (call) {
      this.refuseUngrantedToolCalls(call, caller);
      await this.refuseOtherClientsFiles(call, caller);
    }
    return this.serve(req, reply, me, caller);
  }

  @Get()
  get(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @CurrentPrincipal() me: Principal) {
    return this.serve(req, reply, me, mcpCaller(me));
  }

  @Delete()
  remove(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @CurrentPrincipal() me: Principal) {
    return this.serve(req, reply, me, mcpCaller(me));
  }

  /**
   * The MCP step-up rule: a tool call the token's scopes do not cover is refused at the HTTP level (403
   * insufficient_scope, the scope in WWW-Authenticate), so the client can authorize again with that scope. That
   * includes what the call's arguments need beyond the tool's scope (the operation's InputNeeds, which its REST route
   * is checked with too), looked at as they arrived, as the REST route's query is.
   */
  private refuseUngrantedToolCalls({ op, args }: ToolCall, caller: McpCaller): void {
    const oauthClient = caller.oauthClient === true;
    if (!tokenAllows(caller, op.scope)) throw insufficientTokenScope(this.resources.forRoute(MCP_PATH), [op.scope], [op.scope], oauthClient, this.signInScopes);
    const extra = unmetInputNeed(op.inputNeeds, args, caller.scopes, caller.oauthClient ?? true);
    if (extra) throw insufficientTokenScope(this.resources.forRoute(MCP_PATH), [op.scope, extra.need], [extra.need], oauthClient, this.signInScopes, extra.because);
  }

  /**
   * The same step-up rule for the files a call names, when the token reaches only its client's own (drive.file):
   * a file without the client's mark is refused at the HTTP level with the 403 its REST route answers (AppFileGuard),
   * before the tool runs. Arguments the tool's schema refuses are left to the tool, which says what is wrong. When the
   * check itself fails (Google unavailable, the grant gone), the tool answers with that failure instead of running.
   * The tool runs with the input validated here (McpCaller.checkedCall), not its own reading of the message.
   */
  private async refuseOtherClientsFiles({ op, args }: ToolCall, caller: McpCaller): Promise<void> {
    const files = callFileScope(caller, op, args);
    if (!files?.ownOnly || !op.fileInputs?.length) return;
    const parsed = validateInput(op, args);
    caller.checkedCall = { op, parsed, files };
    if (!parsed.ok) return;
    const resource = this.resources.forRoute(MCP_PATH);
    const refusal = (fileId: string) => new NotOwnFileError(resource, files, fileId);
    try {
      await this.appFiles.refuseOthers(caller.email, files, fileIdsIn(op.fileInputs, parsed.input), refusal);
    } catch (err) {
      if (err instanceof NotOwnFileError) throw err;
      caller.fileCheckFailure = err;
    }
  }

  /** The tool a `tools/call` message names and its arguments as they came, or undefined for any other message. */
  private toolCall(body: unknown): ToolCall | undefined {
    const m = body as { method?: unknown; params?: { name?: unknown; arguments?: unknown } } | undefined;
    if (m?.method !== 'tools/call') return undefined;
    const op = this.tools.find((t) => t.tool === m.params?.name);
    return op ? { op, args: m.params?.arguments } : undefined;
  }

  private async serve(req: FastifyRequest, reply: FastifyReply, me: Principal, caller: McpCaller): Promise<FastifyReply> {
    // A browser request from an origin not listed never gets here: the route's onRequest hook (corsPolicy's
    // originGate) refused it with 403 before the bearer guard, as the transport's DNS-rebinding rule asks.
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const request = new Request(`${this.base}${MCP_PATH}`, { method: req.method, headers });
    const authInfo = {
      token: '',
      clientId: me.claims.client_id ?? 'browser-sign-in',
      scopes: [...caller.scopes],
      expiresAt: me.claims.exp,
      extra: { caller },
    };
    const handler = this.handler.loaded ?? (await this.handler.load());
    const response = await handler.fetch(request, { authInfo, ...(req.method === 'POST' ? { parsedBody: req.body } : {}) });
    reply.status(response.status);
    response.headers.forEach((value, name) => void reply.header(name, value));
    return reply.send(response.body ? Readable.fromWeb(response.body as NodeReadableStream) : undefined);
  }
}
