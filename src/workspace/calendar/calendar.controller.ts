import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiZodBody, ApiZodQuery } from '../../common/zod-openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../../sessions/principal.js';
import type { Principal } from '../../sessions/principal.js';
import { UserIsolationGuard } from '../../sessions/user-isolation.guard.js';
import { calendarQuery, eventPatchBody, freeBusyBody, googleId, newEventBody } from './calendar.schemas.js';
import type { CalendarQuery, EventPatchBody, FreeBusyBody, NewEventBody } from './calendar.schemas.js';
import { CalendarService } from './calendar.service.js';
import { RequiresScope, TokenScopeGuard } from '../token-scope.guard.js';
import { ScopeChallengeFilter } from '../scope-challenge.filter.js';
import { DocumentedRoutes } from '../documented-routes.js';

const id = new ZodValidationPipe(googleId);
const which = new ZodValidationPipe(calendarQuery);

/** Calendar beyond the event list. `{userId}` is `me` or the caller's own email. */
@DocumentedRoutes()
@ApiTags('calendar')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'userId', description: '`me` or your own email' })
@Controller('v1/users/:userId/calendar')
@UseGuards(UserIsolationGuard, TokenScopeGuard)
@UseFilters(ScopeChallengeFilter)
export class CalendarController {
  constructor(private readonly calendar: CalendarService) {}

  /** The user's calendars. */
  @RequiresScope('calendarList')
  @Get('calendars')
  calendars(@CurrentPrincipal() me: Principal) {
    return this.calendar.listCalendars(me.email);
  }

  /** One event. */
  @RequiresScope('calendarRead')
  @Get('events/:eventId')
  @ApiZodQuery(calendarQuery)
  get(@CurrentPrincipal() me: Principal, @Param('eventId', id) eventId: string, @Query(which) q: CalendarQuery) {
    return this.calendar.getEvent(me.email, q.calendarId, eventId);
  }

  /** Create an event. */
  @RequiresScope('calendarWrite')
  @Post('events')
  @ApiZodQuery(calendarQuery)
  @ApiZodBody(newEventBody)
  create(@CurrentPrincipal() me: Principal, @Query(which) q: CalendarQuery, @Body(new ZodValidationPipe(newEventBody)) body: NewEventBody) {
    return this.calendar.createEvent(me.email, q.calendarId, body);
  }

  /** Update an event. */
  @RequiresScope('calendarWrite')
  @Patch('events/:eventId')
  @ApiZodQuery(calendarQuery)
  @ApiZodBody(eventPatchBody)
  update(@CurrentPrincipal() me: Principal, @Param('eventId', id) eventId: string, @Query(which) q: CalendarQuery, @Body(new ZodValidationPipe(eventPatchBody)) body: EventPatchBody) {
    return this.calendar.updateEvent(me.email, q.calendarId, eventId, body);
  }

  /** Delete an event. */
  @RequiresScope('calendarWrite')
  @Delete('events/:eventId')
  @HttpCode(204)
  @ApiZodQuery(calendarQuery)
  async remove(@CurrentPrincipal() me: Principal, @Param('eventId', id) eventId: string, @Query(which) q: CalendarQuery): Promise<void> {
    await this.calendar.deleteEvent(me.email, q.calendarId, eventId);
  }

  /** Free/busy of calendars in a window. */
  @RequiresScope('calendarFreeBusy')
  @Post('freebusy')
  @HttpCode(200)
  @ApiZodBody(freeBusyBody)
  freeBusy(@CurrentPrincipal() me: Principal, @Body(new ZodValidationPipe(freeBusyBody)) body: FreeBusyBody) {
    return this.calendar.freeBusy(me.email, body);
  }
}
