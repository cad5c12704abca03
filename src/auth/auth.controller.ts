import { Body, Controller, Get, HttpCode, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, UnauthorizedError } from '../common/domain-error.js';
import { normalizeEmailOrThrow } from '../common/email.js';
import { bearerFromHeader } from '../sessions/bearer-auth.guard.js';
import { CurrentPrincipal } from '../sessions/principal.js';
import type { Principal } from '../sessions/principal.js';
import { Public } from '../common/public.decorator.js';
import { AuthService } from './auth.service.js';
import { FlowReplies } from './flow-replies.js';
import { GoogleCallbackGuard, signInStepOf } from './google-callback.guard.js';
import type { SignInStep } from './google-sign-in.js';
import { SignInErrorPageFilter } from './sign-in-error-page.js';
import { GoogleSignIn } from './google-sign-in.js';
import { SignInContinuation } from './sign-in-continuation.js';
import { leftRefreshTokenUnstored } from './unstored-refresh-token.js';
import { settleWithin } from '../common/settle-within.js';

/** How long a failed callback waits for its flow to be reopened before answering the error (see finishSignIn). */
const REOPEN_WAIT_MS = 1000;

const ok = <T>(value: T) => ({ ok: true as const, value });
const failed = (error: unknown) => ({ ok: false as const, error });

/** Google sign-in, the caller's session, logout and revocation (HTTP contract in DESIGN.md). */
@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly signIn: GoogleSignIn,
    private readonly continuation: SignInContinuation,
    private readonly replies: FlowReplies,
  ) {}

  /** Redirects the browser to Google's consent page. */
  @Public()
  @Get('google')
  @ApiQuery({ name: 'login_hint', required: false })
  async google(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query('login_hint') loginHint?: string, @Query('handoff') handoff?: unknown): Promise<void> {
    const elsewhere = this.replies.canonicalHostUrl(req);
    if (elsewhere) return void reply.header('cache-control', 'no-store').redirect(elsewhere, 302); // before any cookie is set
    const hint = loginHint === undefined || loginHint === '' ? undefined : normalizeEmailOrThrow(loginHint, 'login_hint');
    // `handoff`: an OAuth client's request that /oauth/authorize sent here to sign in first (see SignInHandoff).
    const oauth = handoff === undefined ? undefined : await this.signIn.openHandoff(handoff);
    // Never decided from login_hint (that would tell anyone whether the address is a user here, and cost an S3
    // read per probe): consent is asked for only at the callback, when Google sent no refresh token and none is stored.
    // The one exception: this browser's last sign-in brought a refresh token S3 did not take (see
    // unstored-refresh-token.ts); Google sends a known user another only from its consent screen.
    const step = await this.signIn.start({ loginHint: hint, consent: this.replies.consentNext(req), retried: false, oauth, cookies: req.cookies });
    this.replies.redirect(reply, step);
  }

  /** Google redirects here; answers with the bearer token: JSON, or the token page to a browser. */
  @Public()
  @Get('google/callback')
  @UseFilters(SignInErrorPageFilter) // a person's browser gets its errors as a page (also the guard's errors)
  @UseGuards(GoogleCallbackGuard)
  async callback(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const step = signInStepOf(req); // state, code exchange and email checked by GoogleCallbackGuard
    if (step.kind === 'redirect') return this.replies.redirect(reply, step);
    if (step.kind === 'declined') return this.declined(reply, step);
    // Cookies are set before the answer is sent; on failure, askConsentNext replaces this expiry.
    if (step.identity.refreshToken) this.replies.forgetConsentNext(req, reply);
    try {
      await this.finishSignIn(req, reply, step);
    } catch (err) {
      // The exception filter answers on this reply, so the cookie goes with the error.
      if (leftRefreshTokenUnstored(err)) this.replies.askConsentNext(reply);
      throw err;
    }
  }

  /** Stores the grant and answers: the bearer, the OAuth client's code, or the restart with consent. */
  private async finishSignIn(req: FastifyRequest, reply: FastifyReply, step: SignInStep & { kind: 'signed-in' }): Promise<void> {
    const { email } = step.identity;
    // The flow cookie is expired only on success: after a failure (S3 down) the same browser may retry the
    // callback, and is then told what really happened (the code was spent, or the sign-in goes through).
    const spent = async () => {
      await this.signIn.spend(step.flow);
      this.replies.setCookies(reply, step.cookies);
    };
    if (step.flow.oauth) {
      // The sign-in served an OAuth client: back to it with a one-time code.
      if ((await this.auth.storeGoogleGrant(step.identity, step.flow)) === 'restart-with-consent') return this.restartWithConsent(req, reply, step, spent);
      const back = await this.continuation.complete(step.flow.oauth, email, req.ip, step.identity.scopes);
      await spent();
      reply.header('cache-control', 'no-store').redirect(back, 302);
      return;
    }
    // The flow is marked spent while the grant and the session are written (one S3 round trip less); when they
    // fail it is opened again, so the same browser's retry is told what really happened.
    const [done, markedSpent] = await Promise.all([this.auth.signIn(step.identity, step.flow, req.ip).then(ok, failed), this.signIn.spend(step.flow)]);
    if (!done.ok) {
      // Nothing to undo when the spent mark did not land. Otherwise the undo is waited for only briefly: S3 has just
      // failed the writes, and a second S3_TIMEOUT_MS here would double the person's wait for the error. One that
      // lands later still helps a later retry; one that does not leaves "already used", which also says start again.
      if (markedSpent) await settleWithin(this.signIn.reopen(step.flow), REOPEN_WAIT_MS);
      throw done.error;
    }
    const signedIn = done.value;
    const setSpentCookies = async () => this.replies.setCookies(reply, step.cookies);
    if (signedIn === 'restart-with-consent') return this.restartWithConsent(req, reply, step, setSpentCookies);
    await setSpentCookies();
    this.replies.signedIn(req, reply, signedIn);
  }

  /**
   * The person declined at Google during an OAuth client's sign-in (GoogleCallbackGuard claimed the flow): on to
   * the authorization server, which tells the client access_denied at its redirect URI. The flow is marked spent
   * and its cookie replaced by "used" first, like a finished sign-in, so a reload or a copied cookie gets the
   * "already used" page instead of a second redirect.
   */
  private async declined(reply: FastifyReply, step: SignInStep & { kind: 'declined' }): Promise<void> {
    const back = await this.continuation.declined(step.flow.oauth);
    await this.signIn.spend(step.flow);
    this.replies.setCookies(reply, step.cookies);
    reply.header('cache-control', 'no-store').redirect(back, 302);
  }

  /** Google sent no refresh token and we hold none: ask once more, this time forcing the consent screen. */
  private async restartWithConsent(req: FastifyRequest, reply: FastifyReply, step: SignInStep & { kind: 'signed-in' }, spent: () => Promise<void>): Promise<void> {
    // With this browser's flow cookies (this flow's as it is replaced: spent), so the restart's new flow keeps their
    // number and total size bounded like any other start (SignInFlowStore).
    const cookies = { ...req.cookies, ...Object.fromEntries(step.cookies.map((c) => [c.name, c.value])) };
    const restart = await this.signIn.start({ loginHint: step.identity.email, consent: true, retried: true, oauth: step.flow.oauth, cookies });
    await spent();
    this.replies.redirect(reply, restart);
  }

  /** The caller's session. */
  @Get('session')
  @ApiBearerAuth('bearer')
  session(@CurrentPrincipal() principal: Principal) {
    return this.auth.describe(principal);
  }

  /**
   * Ends this session only. Public to the guard because logout checks the bearer itself (its audience too, as the
   * guard would): a retry whose session already ended (the first answer was lost) gets 204, not 401 session_ended.
   */
  @Public()
  @Post('logout')
  @ApiBearerAuth('bearer')
  @HttpCode(204)
  async logout(@Req() req: FastifyRequest): Promise<void> {
    const token = bearerFromHeader(req.headers.authorization);
    if (!token) {
      throw new UnauthorizedError('A bearer token is required: send "Authorization: Bearer <token>" of the session to end.', 'missing_token');
    }
    await this.auth.logout(token, req.ip);
  }

  /**
   * Revokes every session and the Google grant of the token's user. Token from the header or a JSON/form body; only
   * a token for the whole service (the browser sign-in's) is accepted, one for /mcp or a single API is 401.
   * 200 only when finished; 503 revocation_incomplete (Retry-After) when a step failed: the same request finishes it.
   */
  @Public()
  @Post('revoke')
  @HttpCode(200)
  async revoke(@Req() req: FastifyRequest, @Body() body: unknown): Promise<{ revoked: true }> {
    const fromBody = body && typeof body === 'object' ? (body as Record<string, unknown>).token : undefined;
    const token = bearerFromHeader(req.headers.authorization) ?? (typeof fromBody === 'string' && fromBody ? fromBody : undefined);
    if (!token) {
      throw new BadRequestError('Send the bearer token to revoke in the Authorization header, or as "token" in a JSON or form body.', 'token_missing');
    }
    await this.auth.revoke(token, req.ip);
    return { revoked: true };
  }
}
