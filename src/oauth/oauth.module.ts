import { Module, OnModuleInit } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { SignInContinuation } from '../auth/sign-in-continuation.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { StorageModule } from '../storage/storage.module.js';
import { AuthorizationCodes } from './authorization-codes.js';
import { AuthorizationFlow } from './authorization-flow.service.js';
import { AuthorizationOutcomes } from './authorization-outcomes.js';
import { AuthorizationRequest, authorizationRequestQuery } from './authorization-request.js';
import { ClientApprovals } from './client-approvals.js';
import { ClientDisconnection } from './client-disconnection.js';
import { ClientDisconnectionMarks } from './client-disconnection-marks.js';
import { ClientFamilyIndex } from './client-family-index.js';
import { ConnectedClientsController } from './connected-clients.controller.js';
import { CimdAdmission } from './cimd-admission.js';
import { ClientMetadataDocuments } from './client-metadata-document.js';
import { ClientRegistration } from './client-registration.service.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { OAuthController } from './oauth.controller.js';
import { ResourceMetadataController } from './resource-metadata.controller.js';
import { SignInReturn } from './sign-in-return.service.js';
import { RefreshTokenFamilies } from './refresh-token-families.js';
import { SealedValues } from '../common/sealed-values.js';
import { AppConfig } from '../config/app-config.js';
import { TokenEndpoint } from './token-endpoint.service.js';

/** The OAuth 2.1 authorization server for API consumers and MCP clients, in front of the Google sign-in. */
@Module({
  imports: [AuthModule, SessionsModule, StorageModule],
  controllers: [OAuthController, ResourceMetadataController, ConnectedClientsController],
  providers: [AuthorizationFlow, SignInReturn, AuthorizationOutcomes, TokenEndpoint, ClientRegistration, OAuthClientRepository, ClientApprovals, ClientFamilyIndex, ClientDisconnection, ClientDisconnectionMarks, AuthorizationCodes, RefreshTokenFamilies, ClientMetadataDocuments, CimdAdmission,
    {
      provide: SealedValues,
      inject: [AppConfig],
      // Sealed with the current key; also opened with the accepted keys' (a signing-key rotation under way).
      useFactory: ({ values: { oauth } }: AppConfig) => new SealedValues(new Uint8Array(oauth.sealKey), (oauth.acceptedSealKeys ?? []).map((k) => new Uint8Array(k))),
    },
  ],
})
export class OAuthModule implements OnModuleInit {
  constructor(
    private readonly continuation: SignInContinuation,
    private readonly signInReturn: SignInReturn,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // The request comes back as auth stored it: the AuthorizationRequest this module handed to the sign-in.
    this.continuation.register({
      complete: (request, email, ip, grantedScopes) => this.signInReturn.afterSignIn(request as AuthorizationRequest, email, ip, grantedScopes),
      restart: (request) => `${this.config.values.publicUrl.replace(/\/$/, '')}/oauth/authorize?${authorizationRequestQuery(request as AuthorizationRequest)}`,
      declined: (request) => this.signInReturn.declinedAtGoogle(request as AuthorizationRequest),
    });
  }
}
