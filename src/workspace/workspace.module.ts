import { Module, OnModuleInit } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { CalendarController } from './calendar/calendar.controller.js';
import { CalendarService } from './calendar/calendar.service.js';
import { ContactsController } from './contacts/contacts.controller.js';
import { ContactsService } from './contacts/contacts.service.js';
import { DocsController } from './docs/docs.controller.js';
import { DocsService } from './docs/docs.service.js';
import { DriveController } from './drive/drive.controller.js';
import { DriveService } from './drive/drive.service.js';
import { GmailController } from './gmail/gmail.controller.js';
import { GmailService } from './gmail/gmail.service.js';
import { GoogleApis } from './google-apis.js';
import { GoogleCaller } from './google-caller.js';
import { UserCallLimit } from './user-call-limit.js';
import { SheetsController } from './sheets/sheets.controller.js';
import { SheetsService } from './sheets/sheets.service.js';
import { TasksController } from './tasks/tasks.controller.js';
import { TasksService } from './tasks/tasks.service.js';
import { WorkspaceController } from './workspace.controller.js';
import { WorkspaceService } from './workspace.service.js';
import { registerWorkspaceResources } from './workspace-resources.js';
import { WorkspaceOperations } from './catalogue/workspace-operations.js';
import { AppFiles } from './app-files/app-files.js';

/** REST over Google Workspace APIs (Gmail, Drive, Calendar, Docs, Sheets, Tasks, Contacts), as the signed-in user. */
@Module({
  imports: [CredentialsModule, SessionsModule],
  controllers: [WorkspaceController, GmailController, DriveController, CalendarController, DocsController, SheetsController, TasksController, ContactsController],
  providers: [WorkspaceService, GoogleCaller, UserCallLimit, GoogleApis, GmailService, DriveService, CalendarService, DocsService, SheetsService, TasksService, ContactsService, WorkspaceOperations, AppFiles],
  exports: [WorkspaceOperations, AppFiles],
})
export class WorkspaceModule implements OnModuleInit {
  constructor(private readonly resources: ProtectedResources) {}

  onModuleInit(): void {
    registerWorkspaceResources(this.resources);
  }
}
