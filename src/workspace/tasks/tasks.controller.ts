import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, UseGuards, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiZodBody, ApiZodQuery } from '../../common/zod-openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../../sessions/principal.js';
import type { Principal } from '../../sessions/principal.js';
import { UserIsolationGuard } from '../../sessions/user-isolation.guard.js';
import { googleId } from '../ids.js';
import { newTaskBody, taskListId, taskPatchBody, tasksQuery } from './tasks.schemas.js';
import type { NewTaskBody, TaskPatchBody, TasksQuery } from './tasks.schemas.js';
import { TasksService } from './tasks.service.js';
import { RequiresScope, TokenScopeGuard } from '../token-scope.guard.js';
import { ScopeChallengeFilter } from '../scope-challenge.filter.js';
import { DocumentedRoutes } from '../documented-routes.js';

const list = new ZodValidationPipe(taskListId);
const id = new ZodValidationPipe(googleId);

/** Google Tasks. `{userId}` is `me` or the caller's own email. */
@DocumentedRoutes()
@ApiTags('tasks')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'userId', description: '`me` or your own email' })
@Controller('v1/users/:userId/tasks')
@UseGuards(UserIsolationGuard, TokenScopeGuard)
@UseFilters(ScopeChallengeFilter)
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  /** Task lists. */
  @RequiresScope('tasksRead')
  @Get('lists')
  lists(@CurrentPrincipal() me: Principal) {
    return this.tasks.lists(me.email);
  }

  /** Tasks of a list. */
  @RequiresScope('tasksRead')
  @Get('lists/:listId/tasks')
  @ApiZodQuery(tasksQuery)
  list(@CurrentPrincipal() me: Principal, @Param('listId', list) listId: string, @Query(new ZodValidationPipe(tasksQuery)) q: TasksQuery) {
    return this.tasks.tasks(me.email, listId, q);
  }

  /** Create a task. */
  @RequiresScope('tasksWrite')
  @Post('lists/:listId/tasks')
  @ApiZodBody(newTaskBody)
  create(@CurrentPrincipal() me: Principal, @Param('listId', list) listId: string, @Body(new ZodValidationPipe(newTaskBody)) body: NewTaskBody) {
    return this.tasks.create(me.email, listId, body);
  }

  /** Update a task. */
  @RequiresScope('tasksWrite')
  @Patch('lists/:listId/tasks/:taskId')
  @ApiZodBody(taskPatchBody)
  update(@CurrentPrincipal() me: Principal, @Param('listId', list) listId: string, @Param('taskId', id) taskId: string, @Body(new ZodValidationPipe(taskPatchBody)) body: TaskPatchBody) {
    return this.tasks.update(me.email, listId, taskId, body);
  }

  /** Mark a task completed. */
  @RequiresScope('tasksWrite')
  @Post('lists/:listId/tasks/:taskId/complete')
  @HttpCode(200)
  complete(@CurrentPrincipal() me: Principal, @Param('listId', list) listId: string, @Param('taskId', id) taskId: string) {
    return this.tasks.update(me.email, listId, taskId, { status: 'completed' });
  }

  /** Delete a task. */
  @RequiresScope('tasksWrite')
  @Delete('lists/:listId/tasks/:taskId')
  @HttpCode(204)
  async remove(@CurrentPrincipal() me: Principal, @Param('listId', list) listId: string, @Param('taskId', id) taskId: string): Promise<void> {
    await this.tasks.remove(me.email, listId, taskId);
  }
}
