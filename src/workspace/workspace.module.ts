import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { WorkspaceController } from './workspace.controller.js';
import { CalendarController } from './calendar/calendar.controller.js';
import { CalendarService } from './calendar/calendar.service.js';
import { GmailController } from './gmail/gmail.controller.js';
import { GmailService } from './gmail/gmail.service.js';
import { GoogleApis } from './google-apis.js';
import { TasksController } from './tasks/tasks.controller.js';
import { TasksService } from './tasks/tasks.service.js';
import { GoogleCaller } from './google-caller.js';
import { WorkspaceService } from './workspace.service.js';

/** REST over Google Workspace APIs, as the signed-in user. */
@Module({
  imports: [CredentialsModule, SessionsModule],
  controllers: [WorkspaceController, GmailController, CalendarController, TasksController],
  providers: [WorkspaceService, GoogleCaller, GoogleApis, GmailService, CalendarService, TasksService],
})
export class WorkspaceModule {}
