import { Controller, Delete, Get, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeController } from '@nestjs/swagger';
import { createMcpHandler, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { DomainError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { CurrentPrincipal, type Principal } from '../sessions/principal.js';
import type { WorkspaceOperation } from '../workspace/catalogue/operation.js';
import { WorkspaceOperations } from '../workspace/catalogue/workspace-operations.js';
import { recommendedScope } from '../workspace/required-scopes.js';
import { mcpCaller, tokenAllows, type McpCaller } from './mcp-caller.js';
import { buildMcpServer } from './mcp-server.factory.js';
import { selectTools } from './mcp-toolset.js';

/** The resource path of the MCP endpoint (RFC 8707 resource `PUBLIC_URL/mcp`). */
export const MCP_PATH = '/mcp';

/**
 * `POST /mcp`: MCP Streamable HTTP, stateless. The bearer guard (global) has verified the caller before this runs;
 * each request gets a fresh MCP server for that caller, so no replica holds anything another one would need.
 * GET and DELETE are answered by the SDK as a server without server-initiated streams or sessions does (405).
 */
@ApiExcludeController()
@ApiBearerAuth('bearer')
@Controller('mcp')
export class McpController {
  private readonly logger = new Logger('Mcp');
  private readonly handler: McpHttpHandler;
  private readonly tools: WorkspaceOperation[];
  private readonly base: string;

  constructor(operations: WorkspaceOperations, private readonly config: AppConfig) {
    this.base = config.values.publicUrl;
    this.tools = selectTools(config.values.mcp.tools, config.values.mcp.readOnly);
    const onUnexpected = (err: unknown, tool: string) => this.logger.error({ msg: 'tool failed', tool, error: (err as Error)?.name, detail: (err as Error)?.message });
    this.handler = createMcpHandler(
      (ctx) => buildMcpServer(this.tools, operations, ctx.authInfo?.extra?.caller as McpCaller, onUnexpected),
      { legacy: 'stateless', onerror: (err) => this.logger.warn({ msg: 'mcp request refused', detail: err.message }) },
    );
  }

  @Post()
  post(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @CurrentPrincipal() me: Principal) {
    const caller = mcpCaller(me);
    this.refuseUngrantedToolCalls(req.body, caller);
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
   * insufficient_scope, the scope in WWW-Authenticate), so the client can authorize again with that scope.
   */
  private refuseUngrantedToolCalls(body: unknown, caller: McpCaller): void {
    const messages = Array.isArray(body) ? body : [body];
    for (const m of messages as Array<{ method?: unknown; params?: { name?: unknown } }>) {
      if (m?.method !== 'tools/call') continue;
      const op = this.tools.find((t) => t.tool === m.params?.name);
      if (!op || tokenAllows(caller, op.scope)) continue;
      const scope = recommendedScope(op.scope);
      throw new DomainError(
        403,
        'insufficient_scope',
        `The tool ${op.tool} needs the scope ${scope}, which this access token does not carry. Authorize again asking for it (with the scopes you already have), then retry.`,
        { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${this.base}/.well-known/oauth-protected-resource${MCP_PATH}"` },
        { scope },
      );
    }
  }

  private async serve(req: FastifyRequest, reply: FastifyReply, me: Principal, caller: McpCaller): Promise<FastifyReply> {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const request = new Request(`${this.base}${MCP_PATH}`, { method: req.method, headers });
    const authInfo = {
      token: '',
      clientId: me.claims.client_id ?? 'browser-sign-in',
      scopes: [...(caller.scopes ?? [])],
      expiresAt: me.claims.exp,
      extra: { caller },
    };
    const response = await this.handler.fetch(request, { authInfo, ...(req.method === 'POST' ? { parsedBody: req.body } : {}) });
    reply.status(response.status);
    response.headers.forEach((value, name) => void reply.header(name, value));
    return reply.send(response.body ? Readable.fromWeb(response.body as NodeReadableStream) : undefined);
  }
}
