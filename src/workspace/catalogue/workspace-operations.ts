import { Injectable } from '@nestjs/common';
import { CalendarService } from '../calendar/calendar.service.js';
import { ContactsService } from '../contacts/contacts.service.js';
import { DocsService } from '../docs/docs.service.js';
import { DriveService } from '../drive/drive.service.js';
import { GmailService } from '../gmail/gmail.service.js';
import { SheetsService } from '../sheets/sheets.service.js';
import { TasksService } from '../tasks/tasks.service.js';
import { WorkspaceService } from '../workspace.service.js';
import { documentedResult, operationFailure } from './documented-results.js';
import type { OperationInput, WorkspaceOperation, WorkspaceServices } from './operation.js';
import type { FileScope } from '../app-files/app-file-marker.js';

/** Runs catalogue operations as a verified user (for faces other than the REST controllers: MCP). */
@Injectable()
export class WorkspaceOperations {
  private readonly services: WorkspaceServices;

  constructor(
    workspace: WorkspaceService,
    gmail: GmailService,
    drive: DriveService,
    calendar: CalendarService,
    docs: DocsService,
    sheets: SheetsService,
    tasks: TasksService,
    contacts: ContactsService,
  ) {
    this.services = { workspace, gmail, drive, calendar, docs, sheets, tasks, contacts };
  }

  /**
   * Runs `op` for `email`, the verified caller, with input already validated by validateInput. The result has the
   * operation's documented shape (the tool's outputSchema), or the call fails with a 502 (documented-results.ts).
   * `files`: the caller's drive.file marks (fileScopeOf), its files already checked (AppFiles.refuseOthers).
   */
  async run(op: WorkspaceOperation, email: string, input: OperationInput, files?: FileScope): Promise<object> {
    let result: object;
    try {
      result = await op.run(this.services, email, input, files);
    } catch (err) {
      throw operationFailure(op, err);
    }
    return documentedResult(op, result);
  }
}
