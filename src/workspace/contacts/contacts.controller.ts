import { Controller, Get, Param, Query, UseGuards, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiZodQuery } from '../../common/zod-openapi.js';
import { ZodValidationPipe } from '../../common/zod-validation.pipe.js';
import { CurrentPrincipal } from '../../sessions/principal.js';
import type { Principal } from '../../sessions/principal.js';
import { UserIsolationGuard } from '../../sessions/user-isolation.guard.js';
import { contactId, contactSearchQuery } from './contacts.schemas.js';
import type { ContactSearchQuery } from './contacts.schemas.js';
import { ContactsService } from './contacts.service.js';
import { RequiresScope, TokenScopeGuard } from '../token-scope.guard.js';
import { ScopeChallengeFilter } from '../scope-challenge.filter.js';
import { DocumentedRoutes } from '../documented-routes.js';

/** Google Contacts (People API). `{userId}` is `me` or the caller's own email. */
@DocumentedRoutes()
@ApiTags('contacts')
@ApiBearerAuth('bearer')
@ApiParam({ name: 'userId', description: '`me` or your own email' })
@Controller('v1/users/:userId/contacts')
@UseGuards(UserIsolationGuard, TokenScopeGuard)
@UseFilters(ScopeChallengeFilter)
export class ContactsController {
  constructor(private readonly contacts: ContactsService) {}

  /** Search contacts (`?q=ada&pageSize=10`). */
  @RequiresScope('contactsRead')
  @Get()
  @ApiZodQuery(contactSearchQuery)
  search(@CurrentPrincipal() me: Principal, @Query(new ZodValidationPipe(contactSearchQuery)) q: ContactSearchQuery) {
    return this.contacts.search(me.email, q);
  }

  /** One contact by id. */
  @RequiresScope('contactsRead')
  @Get(':contactId')
  get(@CurrentPrincipal() me: Principal, @Param('contactId', new ZodValidationPipe(contactId)) id: string) {
    return this.contacts.get(me.email, id);
  }
}
