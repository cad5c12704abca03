import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { WorkspaceController } from './workspace.controller.js';
import { GoogleApis } from './google-apis.js';
import { GoogleCaller } from './google-caller.js';
import { WorkspaceService } from './workspace.service.js';

/** REST over Google Workspace APIs, as the signed-in user. */
@Module({
  imports: [CredentialsModule, SessionsModule],
  controllers: [WorkspaceController],
  providers: [WorkspaceService, GoogleCaller, GoogleApis],
})
export class WorkspaceModule {}
