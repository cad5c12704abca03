import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../sessions/principal.js';
import type { Principal } from '../sessions/principal.js';
import { UserIsolationGuard } from '../sessions/user-isolation.guard.js';
import { calendarEventsQuery, driveFilesQuery, gmailMessagesQuery } from './workspace.queries.js';
import type { CalendarEventsQuery, DriveFilesQuery, GmailMessagesQuery } from './workspace.queries.js';
import { WorkspaceService } from './workspace.service.js';

/** Workspace routes; `{userId}` is `me` or the caller's own email (UserIsolationGuard). */
@Controller('v1/users/:userId')
@UseGuards(UserIsolationGuard)
export class WorkspaceController {
  constructor(private readonly workspace: WorkspaceService) {}

  /** Gmail messages. */
  @Get('gmail/messages')
  messages(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(gmailMessagesQuery)) query: GmailMessagesQuery) {
    return this.workspace.listMessages(me.email, query);
  }

  /** Drive files. */
  @Get('drive/files')
  files(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(driveFilesQuery)) query: DriveFilesQuery) {
    return this.workspace.listFiles(me.email, query);
  }

  /** Calendar events. */
  @Get('calendar/events')
  events(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(calendarEventsQuery)) query: CalendarEventsQuery) {
    return this.workspace.listEvents(me.email, query);
  }
}
