import { Body, Controller, Get, Header, Param, Post, Query, Req, StreamableFile, UseGuards, UseFilters } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ApiZodBody, ApiZodQuery } from '../../common/zod-openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../../sessions/principal.js';
import type { Principal } from '../../sessions/principal.js';
import { UserIsolationGuard } from '../../sessions/user-isolation.guard.js';
import { googleId } from '../ids.js';
import { attachmentDisposition } from './drive-formats.js';
import { contentQuery, fileQuery, folderBody, uploadBody } from './drive.schemas.js';
import type { ContentQuery, FileQuery, FolderBody, UploadBody } from './drive.schemas.js';
import { DriveService } from './drive.service.js';
import { RequiresScope, TokenScopeGuard } from '../token-scope.guard.js';
import { ScopeChallengeFilter } from '../scope-challenge.filter.js';
import { DocumentedRoutes } from '../documented-routes.js';
import { RequiresScopeForInput } from '../input-scope.js';
import { driveContentNeeds } from './content-terms.js';
import { AppFileGuard, CallerFiles, ReachesFiles } from '../app-files/app-file.guard.js';
import type { FileScope } from '../app-files/app-file-marker.js';

const id = new ZodValidationPipe(googleId);

/** The upload route, whose body limit app.factory.ts raises (every other route keeps the 1 MiB default). */
export const DRIVE_UPLOAD_ROUTE = { method: 'POST', url: '/v1/users/:userId/drive/files' } as const;

/** Google Drive beyond the file list. `{userId}` is `me` or the caller's own email. */
@DocumentedRoutes()
@ApiTags('drive')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'userId', description: '`me` or your own email' })
@Controller('v1/users/:userId/drive')
@UseGuards(UserIsolationGuard, TokenScopeGuard, AppFileGuard)
@UseFilters(ScopeChallengeFilter)
export class DriveController {
  constructor(private readonly drive: DriveService) {}

  /** A file's metadata (`?fields=` in Drive's syntax). */
  @RequiresScope('driveRead')
  @RequiresScopeForInput(driveContentNeeds)
  @ReachesFiles('fileId')
  @Get('files/:fileId')
  @ApiZodQuery(fileQuery)
  file(@CurrentPrincipal() me: Principal, @Param('fileId', id) fileId: string, @Query(new ZodValidationPipe(fileQuery)) q: FileQuery) {
    return this.drive.getFile(me.email, fileId, q.fields);
  }

  /** A file's content: its bytes, or a Google Docs file exported (`?format=text|markdown|html|pdf|csv`). */
  @RequiresScope('driveContent')
  @ReachesFiles('fileId')
  @Get('files/:fileId/content')
  @ApiProduces('application/octet-stream')
  // The content is the user's, not ours: never rendered in our origin, never sniffed into something else.
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Content-Security-Policy', 'sandbox')
  @ApiZodQuery(contentQuery)
  async content(@CurrentPrincipal() me: Principal, @Param('fileId', id) fileId: string, @Query(new ZodValidationPipe(contentQuery)) q: ContentQuery, @Req() req: FastifyRequest): Promise<StreamableFile> {
    // HEAD answers GET's headers from the metadata: Fastify would otherwise download the whole file and discard it.
    // Its Content-Length is Drive's `size` (DriveService.download says why that is what a GET sends).
    const file = await this.drive.download(me.email, fileId, q.format, { headOnly: req.method === 'HEAD', requestId: req.id });
    return new StreamableFile(file.stream, { type: file.mimeType, disposition: attachmentDisposition(file.fileName), length: file.length });
  }

  /** Upload a small file (at most 5 MB; `content` in base64). */
  @RequiresScope('driveCreate')
  @ReachesFiles('parentId')
  @Post('files')
  @ApiZodBody(uploadBody)
  upload(@CurrentPrincipal() me: Principal, @Body(new ZodValidationPipe(uploadBody)) body: UploadBody, @CallerFiles() files: FileScope | undefined) {
    return this.drive.upload(me.email, body, files);
  }

  /** Create a folder. */
  @RequiresScope('driveCreate')
  @ReachesFiles('parentId')
  @Post('folders')
  @ApiZodBody(folderBody)
  folder(@CurrentPrincipal() me: Principal, @Body(new ZodValidationPipe(folderBody)) body: FolderBody, @CallerFiles() files: FileScope | undefined) {
    return this.drive.createFolder(me.email, body, files);
  }

  /** The file's shareable links and who they open for (does not change sharing). */
  @RequiresScope('driveRead')
  @ReachesFiles('fileId')
  @Get('files/:fileId/link')
  link(@CurrentPrincipal() me: Principal, @Param('fileId', id) fileId: string) {
    return this.drive.shareLink(me.email, fileId);
  }

  /** Who has access to the file. */
  @RequiresScope('driveRead')
  @ReachesFiles('fileId')
  @Get('files/:fileId/permissions')
  permissions(@CurrentPrincipal() me: Principal, @Param('fileId', id) fileId: string) {
    return this.drive.listPermissions(me.email, fileId);
  }
}
