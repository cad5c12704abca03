import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { StorageModule } from '../storage/storage.module.js';
import { BearerAuthGuard } from './bearer-auth.guard.js';
import { BearerTokenService } from './bearer-token.service.js';
import { SessionStore } from './session.store.js';
import { ExpiredSessionSweeper } from './expired-session-sweeper.js';
import { OneTimeMarkers } from './one-time-markers.js';
import { ProtectedResources } from './protected-resources.js';
import { UserIsolationGuard } from './user-isolation.guard.js';

/** Sessions (memory + S3), bearer tokens, the global bearer guard and the user isolation guard. */
@Module({
  imports: [StorageModule, JwtModule.register({})],
  providers: [
    SessionStore,
    ExpiredSessionSweeper,
    BearerTokenService,
    UserIsolationGuard,
    OneTimeMarkers,
    ProtectedResources,
    // Also a provider of its own: app.factory takes its beforeBody hook for the routes that read large bodies.
    BearerAuthGuard,
    { provide: APP_GUARD, useExisting: BearerAuthGuard }],
  exports: [SessionStore, BearerTokenService, UserIsolationGuard, OneTimeMarkers, ProtectedResources],
})
export class SessionsModule {}
