import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { FlowReplies } from './flow-replies.js';
import { GoogleSignIn } from './google-sign-in.js';
import { OAuthController } from './oauth/oauth.controller.js';
import { OAuthServer } from './oauth/oauth-server.service.js';

/** Google sign-in, bearer issuance, logout, revocation, and the OAuth 2.1 authorization server. */
@Module({
  imports: [CredentialsModule, SessionsModule],
  controllers: [AuthController, OAuthController],
  providers: [AuthService, GoogleSignIn, FlowReplies, OAuthServer],
})
export class AuthModule {}
