import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { StorageModule } from '../storage/storage.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { FlowReplies } from './flow-replies.js';
import { GoogleCallbackGuard } from './google-callback.guard.js';
import { GoogleSignIn } from './google-sign-in.js';
import { GoogleOAuthStrategy } from './google.strategy.js';
import { Revocation } from './revocation.js';
import { SignInContinuation } from './sign-in-continuation.js';

/** Google sign-in, bearer issuance, logout and revocation. */
@Module({
  imports: [CredentialsModule, SessionsModule, StorageModule],
  controllers: [AuthController],
  providers: [AuthService, GoogleOAuthStrategy, GoogleCallbackGuard, GoogleSignIn, FlowReplies, SignInContinuation, Revocation],
  exports: [GoogleSignIn, SignInContinuation, Revocation, FlowReplies],
})
export class AuthModule {}
