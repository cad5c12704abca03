import { Module, OnModuleInit } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { SignInContinuation } from '../auth/sign-in-continuation.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { StorageModule } from '../storage/storage.module.js';
import { AuthorizationCodes } from './authorization-codes.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { OAuthServer } from './oauth-server.service.js';
import { OAuthController } from './oauth.controller.js';
import { ResourceMetadataController } from './resource-metadata.controller.js';
import { RefreshTokenFamilies } from './refresh-token-families.js';

/** The OAuth 2.1 authorization server for API consumers and MCP clients, in front of the Google sign-in. */
@Module({
  imports: [AuthModule, SessionsModule, StorageModule],
  controllers: [OAuthController, ResourceMetadataController],
  providers: [OAuthServer, OAuthClientRepository, AuthorizationCodes, RefreshTokenFamilies],
})
export class OAuthModule implements OnModuleInit {
  constructor(
    private readonly continuation: SignInContinuation,
    private readonly server: OAuthServer,
  ) {}

  onModuleInit(): void {
    this.continuation.register((request, email, ip, grantedScopes) => this.server.completeAuthorization(request, email, ip, grantedScopes));
  }
}
