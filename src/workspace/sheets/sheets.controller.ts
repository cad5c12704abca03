import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, UseGuards, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiZodBody, ApiZodQuery } from '../../common/zod-openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../../sessions/principal.js';
import type { Principal } from '../../sessions/principal.js';
import { UserIsolationGuard } from '../../sessions/user-isolation.guard.js';
import { googleId } from '../ids.js';
import { newSpreadsheetBody, readRangeQuery, writeRangeBody } from './sheets.schemas.js';
import type { NewSpreadsheetBody, ReadRangeQuery, WriteRangeBody } from './sheets.schemas.js';
import { SheetsService } from './sheets.service.js';
import { RequiresScope, TokenScopeGuard } from '../token-scope.guard.js';
import { ScopeChallengeFilter } from '../scope-challenge.filter.js';
import { DocumentedRoutes } from '../documented-routes.js';
import { AppFileGuard, CallerFiles, ReachesFiles } from '../app-files/app-file.guard.js';
import type { FileScope } from '../app-files/app-file-marker.js';

const id = new ZodValidationPipe(googleId);
const write = new ZodValidationPipe(writeRangeBody);

/** Google Sheets. `{userId}` is `me` or the caller's own email; ranges are A1 notation in the query or body. */
@DocumentedRoutes()
@ApiTags('sheets')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'userId', description: '`me` or your own email' })
@Controller('v1/users/:userId/sheets/spreadsheets')
@UseGuards(UserIsolationGuard, TokenScopeGuard, AppFileGuard)
@UseFilters(ScopeChallengeFilter)
export class SheetsController {
  constructor(private readonly sheets: SheetsService) {}

  /** Read a range (`?range=Sheet1!A1:C10`). */
  @RequiresScope('sheetsRead')
  @ReachesFiles('spreadsheetId')
  @Get(':spreadsheetId/values')
  @ApiZodQuery(readRangeQuery)
  read(@CurrentPrincipal() me: Principal, @Param('spreadsheetId', id) spreadsheetId: string, @Query(new ZodValidationPipe(readRangeQuery)) q: ReadRangeQuery) {
    return this.sheets.read(me.email, spreadsheetId, q);
  }

  /** Write a range. */
  @RequiresScope('sheetsWrite')
  @ReachesFiles('spreadsheetId')
  @Put(':spreadsheetId/values')
  @ApiZodBody(writeRangeBody)
  write(@CurrentPrincipal() me: Principal, @Param('spreadsheetId', id) spreadsheetId: string, @Body(write) body: WriteRangeBody) {
    return this.sheets.write(me.email, spreadsheetId, body);
  }

  /** Append rows after the table in `range`. */
  @RequiresScope('sheetsWrite')
  @ReachesFiles('spreadsheetId')
  @Post(':spreadsheetId/values/append')
  @HttpCode(200)
  @ApiZodBody(writeRangeBody)
  append(@CurrentPrincipal() me: Principal, @Param('spreadsheetId', id) spreadsheetId: string, @Body(write) body: WriteRangeBody) {
    return this.sheets.append(me.email, spreadsheetId, body);
  }

  /** Create a spreadsheet. */
  @RequiresScope('sheetsCreate')
  @Post()
  @ApiZodBody(newSpreadsheetBody)
  create(@CurrentPrincipal() me: Principal, @Body(new ZodValidationPipe(newSpreadsheetBody)) body: NewSpreadsheetBody, @CallerFiles() files: FileScope | undefined) {
    return this.sheets.create(me.email, body, files);
  }
}
