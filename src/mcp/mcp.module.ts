import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { WorkspaceModule } from '../workspace/workspace.module.js';
import { McpController } from './mcp.controller.js';

/** The MCP endpoint: the Workspace catalogue as MCP tools, for the verified caller. Nothing imports it. */
@Module({
  imports: [WorkspaceModule, SessionsModule],
  controllers: [McpController],
})
export class McpModule {}
