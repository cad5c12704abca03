import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { GoogleSignIn } from './google-sign-in.js';

/** Google sign-in, bearer issuance, logout, revocation. */
@Module({
  imports: [CredentialsModule, SessionsModule],
  controllers: [AuthController],
  providers: [AuthService, GoogleSignIn],
})
export class AuthModule {}
