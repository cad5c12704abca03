import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { prefersHtml, sendHtml } from '../common/html-page.js';
import { AppConfig } from '../config/app-config.js';
import type { SignInResult } from './auth.service.js';
import type { SignInStep } from './google-sign-in.js';
import { HOST_PREFIX, type FlowCookie } from './sign-in-flow.store.js';
import { tokenPage } from './token-page.js';

/** Set on the one redirect to PUBLIC_URL's host, so a proxy that rewrites Host cannot make it a loop. */
const HOST_REDIRECTED = 'host_redirected';
/** The browser's next sign-in asks Google for consent (see unstored-refresh-token.ts). */
const CONSENT_NEXT = 'wsb_consent_next';
/**
 * How long the browser keeps it. The stored refresh token may be dead meanwhile, so this outlasts any plausible
 * retry; forcing one consent screen is all a stale or forged one can do.
 */
const CONSENT_NEXT_SECONDS = 7 * 24 * 3600;

/** Turns sign-in steps into HTTP: the flow cookies (HttpOnly, SameSite=Lax, Secure on https) and redirects. */
@Injectable()
export class FlowReplies {
  private readonly secure: boolean;
  private readonly publicUrl: URL;

  private readonly consentNextName: string;

  constructor(config: AppConfig) {
    this.secure = config.secureCookies;
    this.publicUrl = new URL(config.values.publicUrl);
    this.consentNextName = (this.secure ? HOST_PREFIX : '') + CONSENT_NEXT;
  }

  /**
   * After a sign-in whose new refresh token S3 did not take: this browser's next sign-in asks Google for consent,
   * since only a consent screen makes Google issue a refresh token again to a user it knows.
   */
  askConsentNext(reply: FastifyReply): void {
    this.setCookies(reply, [{ name: this.consentNextName, value: '1', maxAgeSeconds: CONSENT_NEXT_SECONDS }]);
  }

  /** Whether this browser's last sign-in left a refresh token unstored (askConsentNext). */
  consentNext(req: FastifyRequest): boolean {
    return req.cookies?.[this.consentNextName] === '1';
  }

  /** A refresh token is stored now: later sign-ins of this browser go without the consent screen again. */
  forgetConsentNext(req: FastifyRequest, reply: FastifyReply): void {
    if (this.consentNext(req)) this.setCookies(reply, [{ name: this.consentNextName, value: '', maxAgeSeconds: 0 }]);
  }

  /**
   * The same URL on PUBLIC_URL's host when the browser used another name for this service (localhost instead of
   * 127.0.0.1, an IP instead of the DNS name): the flow cookie is set for the host the browser used, and Google sends
   * the browser back to PUBLIC_URL, where that cookie would be missing. Undefined when the host is already right.
   */
  canonicalHostUrl(req: FastifyRequest): string | undefined {
    const url = new URL(req.url, this.publicUrl);
    if ((req.host ?? '').toLowerCase() === this.publicUrl.host.toLowerCase() || url.searchParams.has(HOST_REDIRECTED)) return undefined;
    url.searchParams.set(HOST_REDIRECTED, '1');
    return new URL(`${url.pathname.replace(/^\/+/, '')}${url.search}`, `${this.publicUrl.href.replace(/\/?$/, '/')}`).toString();
  }

  /** The end of a browser sign-in: the token page to a browser (Accept prefers text/html), the JSON to API clients. */
  signedIn(req: FastifyRequest, reply: FastifyReply, result: SignInResult): void {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache').header('vary', 'Accept');
    if (prefersHtml(req)) return sendHtml(reply, 200, tokenPage(result, this.publicUrl.href.replace(/\/$/, '')), true);
    reply.status(200).send(result);
  }

  /** Sends a redirect step with its cookies. */
  redirect(reply: FastifyReply, step: SignInStep): void {
    if (step.kind !== 'redirect') throw new Error('expected a redirect from the sign-in flow');
    this.setCookies(reply, step.cookies);
    reply.header('cache-control', 'no-store').redirect(step.url, 302);
  }

  /** Sets (or expires) the flow cookies. */
  setCookies(reply: FastifyReply, cookies: FlowCookie[]): void {
    for (const c of cookies) {
      // __Host- cookies (secure, see SignInFlowStore) must have Path=/; the others stay on the sign-in routes.
      const path = c.name.startsWith(HOST_PREFIX) ? '/' : '/auth/google';
      reply.setCookie(c.name, c.value, { path, httpOnly: true, sameSite: 'lax', secure: this.secure, maxAge: c.maxAgeSeconds });
    }
  }
}
