import { Body, Controller, Get, HttpCode, Param, Post, UseGuards, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiZodBody } from '../../common/zod-openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../../sessions/principal.js';
import type { Principal } from '../../sessions/principal.js';
import { UserIsolationGuard } from '../../sessions/user-isolation.guard.js';
import { googleId } from '../ids.js';
import { newDocumentBody, replaceTextBody } from './docs.schemas.js';
import type { NewDocumentBody, ReplaceTextBody } from './docs.schemas.js';
import { DocsService } from './docs.service.js';
import { RequiresScope, TokenScopeGuard } from '../token-scope.guard.js';
import { ScopeChallengeFilter } from '../scope-challenge.filter.js';
import { DocumentedRoutes } from '../documented-routes.js';
import { AppFileGuard, CallerFiles, ReachesFiles } from '../app-files/app-file.guard.js';
import type { FileScope } from '../app-files/app-file-marker.js';

const id = new ZodValidationPipe(googleId);

/** Google Docs. `{userId}` is `me` or the caller's own email. */
@DocumentedRoutes()
@ApiTags('docs')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'userId', description: '`me` or your own email' })
@Controller('v1/users/:userId/docs/documents')
@UseGuards(UserIsolationGuard, TokenScopeGuard, AppFileGuard)
@UseFilters(ScopeChallengeFilter)
export class DocsController {
  constructor(private readonly docs: DocsService) {}

  /** The document as structured JSON (Google's Document resource). */
  @RequiresScope('docsRead')
  @ReachesFiles('documentId')
  @Get(':documentId')
  document(@CurrentPrincipal() me: Principal, @Param('documentId', id) documentId: string) {
    return this.docs.getDocument(me.email, documentId);
  }

  /** The document as plain text. */
  @RequiresScope('docsRead')
  @ReachesFiles('documentId')
  @Get(':documentId/text')
  text(@CurrentPrincipal() me: Principal, @Param('documentId', id) documentId: string) {
    return this.docs.getText(me.email, documentId);
  }

  /** Create a document. */
  @RequiresScope('docsCreate')
  @Post()
  @ApiZodBody(newDocumentBody)
  create(@CurrentPrincipal() me: Principal, @Body(new ZodValidationPipe(newDocumentBody)) body: NewDocumentBody, @CallerFiles() files: FileScope | undefined) {
    return this.docs.create(me.email, body, files);
  }

  /** Find and replace text everywhere in the document. */
  @RequiresScope('docsWrite')
  @ReachesFiles('documentId')
  @Post(':documentId/replace')
  @HttpCode(200)
  @ApiZodBody(replaceTextBody)
  replace(@CurrentPrincipal() me: Principal, @Param('documentId', id) documentId: string, @Body(new ZodValidationPipe(replaceTextBody)) body: ReplaceTextBody) {
    return this.docs.replaceText(me.email, documentId, body);
  }
}
