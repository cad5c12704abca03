import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiZodBody, ApiZodQuery } from '../../common/zod-openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../../sessions/principal.js';
import type { Principal } from '../../sessions/principal.js';
import { UserIsolationGuard } from '../../sessions/user-isolation.guard.js';
import { googleId } from '../ids.js';
import { batchQuery, labelChangeBody, outgoingMailBody } from './gmail.schemas.js';
import type { BatchQuery, LabelChangeBody, OutgoingMailBody } from './gmail.schemas.js';
import { GmailService } from './gmail.service.js';
import { RequiresScope, TokenScopeGuard } from '../token-scope.guard.js';
import { ScopeChallengeFilter } from '../scope-challenge.filter.js';
import { DocumentedRoutes } from '../documented-routes.js';

const id = new ZodValidationPipe(googleId);

/** Gmail beyond the message list. `{userId}` is `me` or the caller's own email. */
@DocumentedRoutes()
@ApiTags('gmail')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'userId', description: '`me` or your own email' })
@Controller('v1/users/:userId/gmail')
@UseGuards(UserIsolationGuard, TokenScopeGuard)
@UseFilters(ScopeChallengeFilter)
export class GmailController {
  constructor(private readonly gmail: GmailService) {}

  /** Several messages by id (`?ids=a,b,c`). */
  @RequiresScope('gmailRead')
  @Get('messages/batch')
  @ApiZodQuery(batchQuery)
  batch(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(batchQuery)) query: BatchQuery) {
    return this.gmail.getMessages(me.email, query);
  }

  /** One message, decoded. */
  @RequiresScope('gmailRead')
  @Get('messages/:messageId')
  message(@CurrentPrincipal() me: Principal, @Param('messageId', id) messageId: string) {
    return this.gmail.getMessage(me.email, messageId);
  }

  /** One attachment. */
  @RequiresScope('gmailRead')
  @Get('messages/:messageId/attachments/:attachmentId')
  attachment(@CurrentPrincipal() me: Principal, @Param('messageId', id) messageId: string, @Param('attachmentId', id) attachmentId: string) {
    return this.gmail.getAttachment(me.email, messageId, attachmentId);
  }

  /** Add or remove labels. */
  @RequiresScope('gmailModify')
  @Post('messages/:messageId/labels')
  @HttpCode(200)
  @ApiZodBody(labelChangeBody)
  labels(@CurrentPrincipal() me: Principal, @Param('messageId', id) messageId: string, @Body(new ZodValidationPipe(labelChangeBody)) body: LabelChangeBody) {
    return this.gmail.changeLabels(me.email, messageId, body);
  }

  /** Send a message. */
  @RequiresScope('gmailSend')
  @Post('messages')
  @ApiZodBody(outgoingMailBody)
  send(@CurrentPrincipal() me: Principal, @Body(new ZodValidationPipe(outgoingMailBody)) body: OutgoingMailBody) {
    return this.gmail.send(me.email, body);
  }

  /** A thread. */
  @RequiresScope('gmailRead')
  @Get('threads/:threadId')
  thread(@CurrentPrincipal() me: Principal, @Param('threadId', id) threadId: string) {
    return this.gmail.getThread(me.email, threadId);
  }

  /** Labels of the mailbox. */
  @RequiresScope('gmailRead')
  @Get('labels')
  listLabels(@CurrentPrincipal() me: Principal) {
    return this.gmail.listLabels(me.email);
  }

  /** Create a draft. */
  @RequiresScope('gmailCompose')
  @Post('drafts')
  @ApiZodBody(outgoingMailBody)
  draft(@CurrentPrincipal() me: Principal, @Body(new ZodValidationPipe(outgoingMailBody)) body: OutgoingMailBody) {
    return this.gmail.createDraft(me.email, body);
  }
}
