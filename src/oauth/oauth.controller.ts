import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../common/domain-error.js';
import { AppConfig } from '../config/app-config.js';
import { BearerTokenService } from '../sessions/bearer-token.service.js';
import { Public } from '../common/public.decorator.js';
import { FlowReplies } from '../auth/flow-replies.js';
import { GoogleSignIn } from '../auth/google-sign-in.js';
import { presentedClient } from './client-authentication.js';
import { authorizationServerMetadata } from './oauth-metadata.js';
import { OAuthServer, RedirectableError, TokenResponse } from './oauth-server.service.js';

type Form = Record<string, unknown>;
const form = (body: unknown): Form => (body && typeof body === 'object' ? (body as Form) : {});

/** OAuth 2.1 endpoints for API consumers (MCP clients among them), and the discovery documents. */
@ApiTags('oauth')
@Public()
@Controller()
export class OAuthController {
  constructor(
    private readonly oauth: OAuthServer,
    private readonly signIn: GoogleSignIn,
    private readonly replies: FlowReplies,
    private readonly tokens: BearerTokenService,
    private readonly config: AppConfig,
  ) {}

  /** RFC 8414 metadata. */
  @Get('.well-known/oauth-authorization-server')
  metadata() {
    const { jwt, publicUrl, oauth } = this.config.values;
    return authorizationServerMetadata(jwt.issuer, publicUrl, { registration: oauth.dynamicRegistration, jwks: jwt.algorithm === 'ES256' });
  }

  /** The bearer verification key, when bearer tokens are ES256. */
  @Get('.well-known/jwks.json')
  jwks() {
    const key = this.tokens.publicJwk();
    if (!key) throw new DomainError(404, 'not_found', 'Bearer tokens are signed with a shared secret (HS256): there is no public key to publish. Use /oauth/introspect.');
    return { keys: [key] };
  }

  /** RFC 7591 dynamic client registration. */
  @Post('oauth/register')
  @HttpCode(201)
  register(@Body() body: unknown) {
    return this.oauth.register(body);
  }

  /** Authorization endpoint: validates the request, then sends the person through Google sign-in. */
  @Get('oauth/authorize')
  async authorize(@Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    try {
      const request = await this.oauth.validateAuthorization(query);
      this.replies.redirect(reply, await this.signIn.start({ consent: false, retried: false, oauth: request }));
    } catch (err) {
      if (!(err instanceof RedirectableError)) throw err;
      reply.header('cache-control', 'no-store').redirect(err.location, 302);
    }
  }

  /** Token endpoint (authorization_code, refresh_token). */
  @Post('oauth/token')
  async token(@Req() req: FastifyRequest, @Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    const tokens: TokenResponse = await this.oauth.token(form(body), presentedClient(req.headers.authorization, form(body)));
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache').status(200).send(tokens);
  }

  /** RFC 7009 revocation. */
  @Post('oauth/revoke')
  @HttpCode(200)
  async revoke(@Req() req: FastifyRequest, @Body() body: unknown): Promise<Record<string, never>> {
    await this.oauth.revoke(form(body), presentedClient(req.headers.authorization, form(body)));
    return {};
  }

  /** RFC 7662 introspection. */
  @Post('oauth/introspect')
  @HttpCode(200)
  introspect(@Req() req: FastifyRequest, @Body() body: unknown) {
    return this.oauth.introspect(form(body), presentedClient(req.headers.authorization, form(body)));
  }
}
