import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RouteConfig } from '@nestjs/platform-fastify';
import { DomainError } from '../common/domain-error.js';
import { oauthErrors } from '../common/domain-exception.filter.js';
import { AppConfig } from '../config/app-config.js';
import { BearerTokenService } from '../sessions/bearer-token.service.js';
import { Public } from '../common/public.decorator.js';
import { FlowReplies } from '../auth/flow-replies.js';
import { GoogleSignIn } from '../auth/google-sign-in.js';
import { AuthorizationFlow, REMEMBER_USER_SECONDS } from './authorization-flow.service.js';
import type { AuthorizationStep, FlowCookies } from './authorization-step.js';
import { presentedClient } from './client-authentication.js';
import { ClientRegistration } from './client-registration.service.js';
import { PAGE_HEADERS, renderErrorPage, type RetryDecision } from './consent-page.js';
import { SignInReturn } from './sign-in-return.service.js';
import { authorizationServerMetadata } from './oauth-metadata.js';
import { asOAuthUnavailable, OAuthError } from './oauth-error.js';
import { TokenEndpoint, TokenResponse } from './token-endpoint.service.js';

type Form = Record<string, unknown>;
/**
 * A request's OAuth parameters (query or body). One sent without a value is left out (RFC 6749 sections 3.1 and 3.2
 * say it MUST count as omitted): clients that build every parameter from a template send `state=` or `resource=`.
 * A parameter sent twice stays an array, which every endpoint refuses.
 */
const form = (body: unknown): Form =>
  body && typeof body === 'object' ? Object.fromEntries(Object.entries(body as Form).filter(([, value]) => value !== '')) : {};

const CSRF_COOKIE = 'wsb_oauth_csrf';
const USER_COOKIE = 'wsb_oauth_user';
/**
 * With Secure cookies (https), the cookies carry the __Host- prefix: a browser then takes them only from this host, with
 * Path=/ and no Domain (RFC 6265bis 4.1.3.2). Without it, another host of the site (a sibling subdomain, or a network
 * attacker answering a plain-http request) could plant a consent cookie whose value it knows, and an Allow pressed in
 * the attacker's own browser with that value would count in the victim's (SignInReturn.resume).
 */
const HOST_PREFIX = '__Host-';

/** What the page of a failed step asks the person to do when a dependency (S3) failed: repeat the step. */
const RELOAD = 'Nothing was lost: reload this page in a moment to try again.';
const PRESS_AGAIN = 'Nothing was lost: press your choice again below in a moment.';

/** OAuth 2.1 endpoints for API consumers (MCP clients among them), the consent page, and the discovery documents. */
@ApiTags('oauth')
@Public()
@Controller()
export class OAuthController {
  private readonly secureCookies: boolean;
  private readonly csrfCookie: string;
  private readonly userCookie: string;

  constructor(
    private readonly flow: AuthorizationFlow,
    private readonly signInReturn: SignInReturn,
    private readonly tokenEndpoint: TokenEndpoint,
    private readonly registration: ClientRegistration,
    private readonly signIn: GoogleSignIn,
    private readonly tokens: BearerTokenService,
    private readonly config: AppConfig,
    private readonly replies: FlowReplies,
  ) {
    this.secureCookies = config.secureCookies;
    const prefix = this.secureCookies ? HOST_PREFIX : '';
    this.csrfCookie = prefix + CSRF_COOKIE;
    this.userCookie = prefix + USER_COOKIE;
  }

  /** RFC 8414 metadata. */
  @Get('.well-known/oauth-authorization-server')
  metadata() {
    const { jwt, publicUrl, oauth } = this.config.values;
    return authorizationServerMetadata(jwt.issuer, publicUrl, { registration: oauth.dynamicRegistration, jwks: jwt.algorithm === 'ES256', clientMetadataDocuments: this.config.values.cimd.enabled });
  }

  /** The bearer verification keys (the signing key and JWT_ACCEPTED_PUBLIC_KEYS), when bearer tokens are ES256. */
  @Get('.well-known/jwks.json')
  jwks() {
    const keys = this.tokens.publicJwks();
    if (!keys) throw new DomainError(404, 'not_found', 'Bearer tokens are signed with a shared secret (HS256): there is no public key to publish. A confidential client checks its own tokens at /oauth/introspect; a resource server that verifies tokens itself needs JWT_PRIVATE_KEY (ES256) set on this service.');
    return { keys };
  }

  /**
   * RFC 7591 dynamic client registration (with an initial access token when OAUTH_REGISTRATION_TOKEN is set). An S3
   * failure is answered in the OAuth error shape too (asOAuthUnavailable): MCP clients register through their OAuth
   * library, which reads `error`, and a code it does not know is a failure it will not retry.
   */
  @Post('oauth/register')
  @RouteConfig(oauthErrors('invalid_client_metadata'))
  @HttpCode(201)
  register(@Req() req: FastifyRequest, @Body() body: unknown) {
    return this.registration.register(body, req.headers.authorization).catch((err: unknown) => {
      throw asOAuthUnavailable(err);
    });
  }

  /** Authorization endpoint: validates, then shows our consent page or sends the person through Google sign-in. */
  @Get('oauth/authorize')
  async authorize(@Req() req: FastifyRequest, @Query() query: Form, @Res() reply: FastifyReply): Promise<void> {
    // On PUBLIC_URL's host first (as /auth/google does), before any cookie is set. The consent page's form posts to
    // PUBLIC_URL (its action), so a page shown at another name of this service (localhost for 127.0.0.1, an IP for the
    // DNS name) posted from another origin, without the consent cookie set on the name the browser used: every Allow
    // and Deny got the 403 "posted from another site" page (found by test/browser/pages.browser.spec.ts).
    const elsewhere = this.replies.canonicalHostUrl(req);
    if (elsewhere) return void reply.header('cache-control', 'no-store').redirect(elsewhere, 302);
    await this.answer(req, reply, () => this.flow.start(form(query), this.cookiesOf(req), req.ip), RELOAD);
  }

  /** The consent page's form: Allow or Deny. */
  @Post('oauth/authorize/decision')
  @ApiExcludeEndpoint()
  async decision(@Req() req: FastifyRequest, @Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    const posted = form(body);
    // The same decision, for the 503 page's button (only ever shown after decide() checked the form and its browser).
    const again: RetryDecision | undefined =
      typeof posted.request === 'string' && (posted.decision === 'allow' || posted.decision === 'deny')
        ? { action: `${this.config.values.publicUrl}/oauth/authorize/decision`, sealedRequest: posted.request, decision: posted.decision }
        : undefined;
    await this.answer(req, reply, () => this.flow.decide(posted, this.cookiesOf(req), req.headers.origin), PRESS_AGAIN, again);
  }

  /** Back from the Google sign-in: on to the client, or the consent page naming the signed-in person. */
  @Get('oauth/authorize/resume')
  @ApiExcludeEndpoint()
  async resume(@Req() req: FastifyRequest, @Query('ticket') ticket: unknown, @Res() reply: FastifyReply): Promise<void> {
    await this.answer(req, reply, () => this.signInReturn.resume(ticket, this.cookiesOf(req), req.ip), RELOAD);
  }

  /** Back from a Google sign-in the person declined: access_denied to the client (SignInReturn.declined). */
  @Get('oauth/authorize/declined')
  @ApiExcludeEndpoint()
  async declined(@Req() req: FastifyRequest, @Query('ticket') ticket: unknown, @Res() reply: FastifyReply): Promise<void> {
    await this.answer(req, reply, () => this.signInReturn.declined(ticket, this.cookiesOf(req), req.ip), RELOAD);
  }

  /** Token endpoint (authorization_code, refresh_token). */
  @Post('oauth/token')
  @RouteConfig(oauthErrors('invalid_request'))
  async token(@Req() req: FastifyRequest, @Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    const tokens: TokenResponse = await this.tokenEndpoint.token(form(body), presentedClient(req.headers.authorization, form(body)), req.ip).catch((err: unknown) => {
      throw asOAuthUnavailable(err);
    });
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache').status(200).send(tokens);
  }

  /** RFC 7009 revocation. */
  @Post('oauth/revoke')
  @RouteConfig(oauthErrors('invalid_request'))
  @HttpCode(200)
  async revoke(@Req() req: FastifyRequest, @Body() body: unknown): Promise<Record<string, never>> {
    await this.tokenEndpoint.revoke(form(body), presentedClient(req.headers.authorization, form(body)), req.ip).catch((err: unknown) => {
      throw asOAuthUnavailable(err);
    });
    return {};
  }

  /** RFC 7662 introspection; an S3 failure in the OAuth error shape, as at the token endpoint. */
  @Post('oauth/introspect')
  @RouteConfig(oauthErrors('invalid_request'))
  @HttpCode(200)
  async introspect(@Req() req: FastifyRequest, @Body() body: unknown): Promise<Record<string, unknown>> {
    return this.tokenEndpoint.introspect(form(body), presentedClient(req.headers.authorization, form(body))).catch((err: unknown) => {
      throw asOAuthUnavailable(err);
    });
  }

  /**
   * Runs one step of the authorization flow and answers it; errors become our HTML page for browsers. `retry`: what
   * the person does when a dependency failed (503): the step changed nothing that stops the same step from working
   * again (AuthorizationFlow and SignInReturn give their one-time claims back), so the page says how to repeat it. `again`: the consent
   * decision the 503 page offers to post again (renderErrorPage says why a button, not the back button).
   */
  private async answer(req: FastifyRequest, reply: FastifyReply, step: () => Promise<AuthorizationStep>, retry: string, again?: RetryDecision): Promise<void> {
    let next: AuthorizationStep;
    try {
      next = await step();
    } catch (err) {
      if (!(err instanceof DomainError) || !wantsHtml(req)) throw err;
      const title = err instanceof OAuthError ? `Authorization refused (${err.error})` : 'Authorization failed';
      if (err.headers['Retry-After']) reply.header('retry-after', err.headers['Retry-After']);
      const page = err.status === 503 ? renderErrorPage(title, `${err.message} ${retry}`, again) : renderErrorPage(title, err.message);
      reply.headers(PAGE_HEADERS).status(err.status).send(page);
      return;
    }
    // After a POST, 303 makes the browser follow with a GET.
    const status = req.method === 'POST' ? 303 : 302;
    if (next.kind === 'consent') {
      if (next.csrf) reply.setCookie(this.csrfCookie, next.csrf, this.cookie('lax', 24 * 3600));
      reply.headers(PAGE_HEADERS).status(200).send(next.html);
      return;
    }
    if (next.kind === 'sign-in') {
      if (next.csrf) reply.setCookie(this.csrfCookie, next.csrf, this.cookie('lax', 24 * 3600));
      // Through /auth/google, where the flow cookie is set by a request that carries this browser's other flow
      // cookies (their number stays bounded) and on PUBLIC_URL's host (see SignInHandoff).
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(await this.signIn.handoffUrl(next.request), status);
      return;
    }
    if (next.remember) reply.setCookie(this.userCookie, await this.flow.rememberCookie(next.remember), this.cookie('lax', REMEMBER_USER_SECONDS));
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(next.location, status);
  }

  private cookiesOf(req: FastifyRequest): FlowCookies {
    const c = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies ?? {};
    return { csrf: c[this.csrfCookie], rememberedUser: c[this.userCookie] };
  }

  private cookie(sameSite: 'lax' | 'strict', maxAge: number) {
    // __Host- needs Path=/; without the prefix (plain http, local use) they stay on /oauth.
    return { path: this.secureCookies ? '/' : '/oauth', httpOnly: true, sameSite, secure: this.secureCookies, maxAge };
  }
}

/** A browser navigating (Accept names text/html) gets pages; programs get JSON errors. */
function wantsHtml(req: FastifyRequest): boolean {
  return /text\/html/i.test(req.headers.accept ?? '');
}
