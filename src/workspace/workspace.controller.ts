import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../sessions/principal.js';
import type { Principal } from '../sessions/principal.js';
import { UserIsolationGuard } from '../sessions/user-isolation.guard.js';
import { calendarEventsQuery, driveFilesQuery, gmailMessagesQuery } from './workspace.queries.js';
import type { CalendarEventsQuery, DriveFilesQuery, GmailMessagesQuery } from './workspace.queries.js';
import { WorkspaceService } from './workspace.service.js';

/** Workspace routes; `{userId}` is `me` or the caller's own email (UserIsolationGuard). */
@ApiTags('workspace')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'userId', description: '`me` or your own email' })
@Controller('v1/users/:userId')
@UseGuards(UserIsolationGuard)
export class WorkspaceController {
  constructor(private readonly workspace: WorkspaceService) {}

  /** Gmail messages. */
  @Get('gmail/messages')
  @ApiQuery({ name: 'q', required: false })
  @ApiQuery({ name: 'maxResults', required: false, type: Number })
  @ApiQuery({ name: 'pageToken', required: false })
  messages(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(gmailMessagesQuery)) query: GmailMessagesQuery) {
    return this.workspace.listMessages(me.email, query);
  }

  /** Drive files. */
  @Get('drive/files')
  @ApiQuery({ name: 'q', required: false })
  @ApiQuery({ name: 'pageSize', required: false, type: Number })
  @ApiQuery({ name: 'pageToken', required: false })
  @ApiQuery({ name: 'fields', required: false, description: 'Fields of each file, e.g. id,name,mimeType,modifiedTime' })
  files(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(driveFilesQuery)) query: DriveFilesQuery) {
    return this.workspace.listFiles(me.email, query);
  }

  /** Calendar events. */
  @Get('calendar/events')
  @ApiQuery({ name: 'calendarId', required: false })
  @ApiQuery({ name: 'timeMin', required: false, description: 'ISO 8601' })
  @ApiQuery({ name: 'timeMax', required: false, description: 'ISO 8601' })
  @ApiQuery({ name: 'pageToken', required: false })
  events(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(calendarEventsQuery)) query: CalendarEventsQuery) {
    return this.workspace.listEvents(me.email, query);
  }
}
