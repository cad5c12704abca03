import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../common/domain-error.js';
import { DomainExceptionFilter } from '../common/domain-exception.filter.js';
import { html, htmlDocument, prefersHtml, sendHtml } from '../common/html-page.js';

/** A failed sign-in as a page: what went wrong (the error's own message, which says what to do) and where to start again. */
export function signInErrorPage(error: DomainError): string {
  return htmlDocument(
    'Sign-in did not finish',
    `<main>
<h1>Sign-in did not finish</h1>
<p id="problem">${html(error.message)}</p>
<p><a class="button" id="start-again" href="/auth/google">Start a new sign-in</a></p>
<p class="note">Error <code>${html(error.error)}</code> (HTTP ${html(error.status)}). <a href="/">Front page</a></p>
</main>`,
  );
}

/**
 * The callback's errors for a person's browser (Accept prefers text/html): the same status and message as a page
 * with a "start again" link. API clients get the JSON error of the service-wide filter, unchanged.
 */
@Catch()
export class SignInErrorPageFilter implements ExceptionFilter {
  private readonly json = new DomainExceptionFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (!(exception instanceof DomainError) || reply.sent || !prefersHtml(req)) return this.json.catch(exception, host);
    for (const [name, value] of Object.entries(exception.headers)) reply.header(name, value);
    sendHtml(reply, exception.status, signInErrorPage(exception), true);
  }
}
