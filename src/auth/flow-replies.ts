import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../config/app-config.js';
import type { SignInStep } from './google-sign-in.js';
import type { FlowCookie } from './sign-in-flow.store.js';

/** Turns sign-in steps into HTTP: the flow cookies (HttpOnly, SameSite=Lax, Secure on https) and redirects. */
@Injectable()
export class FlowReplies {
  private readonly secure: boolean;

  constructor(config: AppConfig) {
    const c = config.values.cookieSecure;
    this.secure = c === 'auto' ? config.values.publicUrl.startsWith('https://') : c;
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
      reply.setCookie(c.name, c.value, { path: '/auth/google', httpOnly: true, sameSite: 'lax', secure: this.secure, maxAge: c.maxAgeSeconds });
    }
  }
}
