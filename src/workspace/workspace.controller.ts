import { Controller, Get, Query, UseGuards, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiZodQuery } from '../common/zod-openapi.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../sessions/principal.js';
import type { Principal } from '../sessions/principal.js';
import { UserIsolationGuard } from '../sessions/user-isolation.guard.js';
import { calendarEventsQuery, driveFilesQuery, gmailMessagesQuery } from './workspace.queries.js';
import type { CalendarEventsQuery, DriveFilesQuery, GmailMessagesQuery } from './workspace.queries.js';
import { WorkspaceService } from './workspace.service.js';
import { RequiresScope, TokenScopeGuard } from './token-scope.guard.js';
import { ScopeChallengeFilter } from './scope-challenge.filter.js';
import { DocumentedRoutes } from './documented-routes.js';
import { RequiresScopeForInput } from './input-scope.js';
import { driveContentNeeds } from './drive/content-terms.js';
import { CallerFiles } from './app-files/app-file.guard.js';
import type { FileScope } from './app-files/app-file-marker.js';

/** Workspace routes; `{userId}` is `me` or the caller's own email (UserIsolationGuard). */
@DocumentedRoutes()
@ApiTags('workspace')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'userId', description: '`me` or your own email' })
@Controller('v1/users/:userId')
@UseGuards(UserIsolationGuard, TokenScopeGuard)
@UseFilters(ScopeChallengeFilter)
export class WorkspaceController {
  constructor(private readonly workspace: WorkspaceService) {}

  /** Gmail messages. */
  @RequiresScope('gmailRead')
  @Get('gmail/messages')
  @ApiZodQuery(gmailMessagesQuery)
  messages(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(gmailMessagesQuery)) query: GmailMessagesQuery) {
    return this.workspace.listMessages(me.email, query);
  }

  /** Drive files. */
  @RequiresScope('driveRead')
  @RequiresScopeForInput(driveContentNeeds)
  @Get('drive/files')
  @ApiZodQuery(driveFilesQuery)
  files(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(driveFilesQuery)) query: DriveFilesQuery, @CallerFiles() files: FileScope | undefined) {
    return this.workspace.listFiles(me.email, query, files);
  }

  /** Calendar events. */
  @RequiresScope('calendarRead')
  @Get('calendar/events')
  @ApiZodQuery(calendarEventsQuery)
  events(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(calendarEventsQuery)) query: CalendarEventsQuery) {
    return this.workspace.listEvents(me.email, query);
  }
}
