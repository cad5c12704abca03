import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../common/domain-error.js';
import { DomainExceptionFilter } from '../common/domain-exception.filter.js';
import { html, htmlDocument, prefersHtml, sendHtml } from '../common/html-page.js';
import { oauthSignInOf, type OAuthSignIn } from './google-callback.guard.js';

/**
 * A failed sign-in as a page: what went wrong (the error's own message, which says what to do) and where to start
 * again. `oauth`: the sign-in served an OAuth client's authorization (an MCP client, an IDE: the person came from
 * /oauth/authorize), so the page leads back into that authorization and never to /auth/google, the browser sign-in,
 * which ends on this service's token page and leaves the application waiting.
 *
 * Why a link that repeats the same /oauth/authorize request (decided over a sentence alone): the flow cookie already
 * carries the request, sealed by this service after its checks, and the client is still waiting for it with the same
 * state and code_challenge, so the code the repeat ends with is one the client accepts, and the person lands back in
 * the application. It is safe to show: the page goes only to the browser holding that flow cookie, which opened
 * those very parameters in the URL, and none is a secret; the repeat passes every check of /oauth/authorize again
 * (client, redirect URI, the consent page unless an approval covers it), and no Allow given before travels with it.
 * A client that stopped waiting refuses the code's state; the page says to connect again from the application then.
 */
export function signInErrorPage(error: DomainError, oauth?: OAuthSignIn): string {
  if (oauth) return oauthSignInErrorPage(error, oauth);
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

/** The page for an OAuth client's sign-in: back into the authorization, or (no link known) back to the application. */
function oauthSignInErrorPage(error: DomainError, oauth: OAuthSignIn): string {
  const next = oauth.restartUrl
    ? `<p><a class="button" id="connect-again" href="${html(oauth.restartUrl)}">Try connecting again</a></p>
<p class="note">This repeats the application's request, so you end up back in the application. If the application already says the connection failed or timed out, go back to it and connect again from there instead.</p>`
    : '<p id="connect-again-note">Go back to the application you were connecting (the one named on the page that asked you to allow access) and connect again from there.</p>';
  return htmlDocument(
    'Connecting the application did not finish',
    `<main>
<h1>Connecting the application did not finish</h1>
<p id="problem">${html(error.message)}</p>
${next}
<p class="note">Error <code>${html(error.error)}</code> (HTTP ${html(error.status)}).</p>
</main>`,
  );
}

/**
 * The callback's errors for a person's browser (Accept prefers text/html): the same status and message as a page
 * with the way to start again (see signInErrorPage). API clients get the JSON error of the service-wide filter, unchanged.
 */
@Catch()
export class SignInErrorPageFilter implements ExceptionFilter {
  private readonly json = new DomainExceptionFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (!(exception instanceof DomainError) || reply.sent || !prefersHtml(req)) return this.json.catch(exception, host);
    for (const [name, value] of Object.entries(exception.headers)) reply.header(name, value);
    sendHtml(reply, exception.status, signInErrorPage(exception, oauthSignInOf(req)), true);
  }
}
