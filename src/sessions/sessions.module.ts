import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { StorageModule } from '../storage/storage.module.js';
import { BearerAuthGuard } from './bearer-auth.guard.js';
import { BearerTokenService } from './bearer-token.service.js';
import { SessionStore } from './session.store.js';
import { OneTimeMarkers } from './one-time-markers.js';
import { AuthorizationCodes } from './oauth/authorization-codes.js';
import { OAuthClientRepository } from './oauth/oauth-client.repository.js';
import { RefreshTokenFamilies } from './oauth/refresh-token-families.js';
import { UserIsolationGuard } from './user-isolation.guard.js';

/**
 * Sessions (memory + S3), bearer tokens, the global bearer guard and the user isolation guard; and the state of
 * the OAuth authorization server that outlives a request: clients, authorization codes, refresh token families.
 */
@Module({
  imports: [StorageModule, JwtModule.register({})],
  providers: [
    SessionStore,
    BearerTokenService,
    UserIsolationGuard,
    OneTimeMarkers,
    OAuthClientRepository,
    AuthorizationCodes,
    RefreshTokenFamilies,
    { provide: APP_GUARD, useClass: BearerAuthGuard }],
  exports: [SessionStore, BearerTokenService, UserIsolationGuard, OneTimeMarkers, OAuthClientRepository, AuthorizationCodes, RefreshTokenFamilies],
})
export class SessionsModule {}
