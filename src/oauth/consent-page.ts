import escapeHtml from 'escape-html';
import { ALLOW_ARMING_SCRIPT, ALLOW_ARMING_SCRIPT_SRC, ARM_ALLOW_MS } from './allow-arming.js';
import { OAuthClient } from './oauth-client.js';
import { clientUriHost, visibleText } from './client-metadata-rules.js';
import { isLoopback } from './redirect-uris.js';
import type { Publisher } from './shared-hosts.js';

/** Headers for every HTML page of the authorization server: never framed, cached, or leaked through Referer. */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  // script-src: only the consent page's inline script that arms Allow (allow-arming.ts), by its hash.
  'content-security-policy': `default-src 'none'; script-src ${ALLOW_ARMING_SCRIPT_SRC}; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; frame-ancestors 'none'`,
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: browsers derive the Origin header of a form POST from the page's referrer policy
  // (Fetch, "serializing a request origin"), and under no-referrer they send `Origin: null`, which the consent
  // form's origin check (AuthorizationFlow.decide) refuses as another site's post: in a real browser every Allow
  // and Deny got the 403 "posted from another site" page (found by test/browser/mcp-connect.browser.spec.ts; the
  // e2e tests' HTTP client sets Origin itself). same-origin still sends no Referer to any other site (Google, the
  // client's redirect URI); only our own form post carries this page's URL, to us.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
};

/** What the consent page shows and submits. */
export interface ConsentView {
  client: OAuthClient;
  redirectUri: string;
  /** Plain-language lines describing the access asked for. */
  access: string[];
  resource?: string;
  /** The signed-in person, when the page comes after the Google sign-in. */
  email?: string;
  /** The sealed pending request the form posts back. */
  sealedRequest: string;
  /** Where the form posts. */
  action: string;
  /** Who published the client's metadata document (a client_id that is a URL): shared hosts are told apart. */
  publisher?: Publisher;
}

/** Where a redirect URI sends the person: what the page shows in large type, in words, and any warning. */
export interface Destination {
  /** The host (https, loopback http) or, for a native app, its scheme: never an authority nobody checked. */
  shown: string;
  where: string;
  warning?: string;
}

/**
 * Where a redirect URI sends the person, in words, and whether it deserves a warning. `publisher`: of a metadata
 * document client; a shared host with path tenants is not its own site (another tenant's page there is anyone's).
 */
export function describeDestination(client: OAuthClient, redirectUri: string, publisher?: Publisher): Destination {
  const u = parsed(redirectUri);
  if (!u) return { shown: redirectUri, where: 'an address this page cannot read' };
  if (isLoopback(u)) return { shown: u.host, where: `an application on this computer (${u.host})` };
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    // A private-use scheme decides which app gets the code; what follows "//" is whatever that app's author wrote
    // (com.evil.app://accounts.google.com/cb), so it is never presented as a site.
    return { shown: u.protocol, where: `the app on this device that handles "${u.protocol}" links` };
  }
  const documentHost = /^https:\/\//.test(client.clientId) && publisher?.kind !== 'path' ? parsed(client.clientId)?.hostname : undefined;
  const own = [clientUriHost(client.clientUri), documentHost].filter((h): h is string => Boolean(h));
  if (own.includes(u.hostname)) return { shown: u.host, where: u.hostname };
  return {
    shown: u.host,
    where: u.hostname,
    warning: own.length
      ? `The code will be sent to ${u.hostname}, which is not the application's own site (${own.join(', ')}).`
      : `The application declared no site of its own: anyone can register one under any name. The code will be sent to ${u.hostname}.`,
  };
}

function parsed(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** The page that asks the person to allow or deny a client. Every value from the request or client is escaped. */
export function renderConsentPage(v: ConsentView): string {
  const name = v.client.clientName ? visibleText(v.client.clientName) : 'An application without a name';
  const dest = describeDestination(v.client, v.redirectUri, v.publisher);
  const host = dest.shown;
  return page(
    `Allow ${name}?`,
    `<h1>Allow <strong>${escapeHtml(name)}</strong> to use your Google Workspace?</h1>
${provenance(v.client, v.publisher)}
<p>If you allow, you will be sent back to <strong class="host" id="redirect-host">${escapeHtml(host)}</strong> (${escapeHtml(dest.where)}):<br><code>${escapeHtml(v.redirectUri)}</code></p>
${dest.warning ? `<p class="warning" role="alert"><strong>Warning:</strong> ${escapeHtml(dest.warning)} Only allow if you trust ${escapeHtml(host)} with your mail, files and calendar.</p>` : ''}
<p>It asks for:</p>
<ul>${v.access.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>
${v.resource ? `<p>For use with: <code>${escapeHtml(v.resource)}</code></p>` : ''}
${v.email ? `<p>Signed in as <strong>${escapeHtml(v.email)}</strong>.</p>` : '<p>You will sign in with Google next.</p>'}
<form method="post" action="${escapeHtml(v.action)}">
<input type="hidden" name="request" value="${escapeHtml(v.sealedRequest)}">
<button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="allow" data-armed-after="${ARM_ALLOW_MS}" disabled>Allow</button>
</form>
<noscript><p class="note">Allow needs JavaScript on this page (it keeps a click meant for another site from landing on Allow). Turn it on for this site and reload, or press Deny.</p></noscript>
<script>${ALLOW_ARMING_SCRIPT}</script>
<p class="note">Client id: <code>${escapeHtml(v.client.clientId)}</code></p>`,
  );
}

/**
 * Where the client's name comes from. A metadata document's client is shown as "Name (host)" with the host its
 * document was fetched from, the one checked fact; a self-registered client may call itself "Claude (claude.ai)" as
 * well, so the page says which of the two it is, and that a site inside a registered name is part of the claim.
 * On a shared host (shared-hosts.ts) the host checks nothing, so the page names the tenant instead and warns, like
 * for a redirect URI elsewhere: such a document is no more trustworthy than a self-registered client.
 */
function provenance(client: OAuthClient, publisher: Publisher | undefined): string {
  if (client.static) return '';
  const documentHost = /^https:\/\//.test(client.clientId) ? (publisher?.host ?? parsed(client.clientId)?.host) : undefined;
  if (documentHost && publisher && publisher.kind !== 'own') {
    const label = escapeHtml(visibleText(publisher.label));
    const host = escapeHtml(publisher.host);
    const who =
      publisher.kind === 'subdomain'
        ? publisher.label === publisher.host
          ? `${host} is on a hosting service where anyone can publish under a name of their choosing, so the name says nothing about who made this application.`
          : // The tenant (the PSL's registrable domain) is named; the labels before it are the tenant's free choice.
            `${host} is on a hosting service where anyone can publish under a name of their choosing, so the name says nothing about who made this application: this one is served under the account <strong>${label}</strong>, and what comes before it in ${host} is that account's own choice.`
        : publisher.label === publisher.host
          ? `Anyone can publish documents at ${host}, so it says nothing about who made this application.`
          : `Anyone can publish documents at ${host}, so it says nothing about who made this application: this one is served under the account <strong>${label}</strong>, not by ${host} (and a code host may serve other people's forks of that account's repositories there too).`;
    return `<p class="note" id="provenance">This application is described by a document at <strong>${label}</strong>, on a shared host; the name is the document's own claim.</p>
<p class="warning" role="alert" id="shared-host"><strong>Warning:</strong> ${who} Only allow if you know who published it and trust them with your mail, files and calendar.</p>`;
  }
  if (documentHost) {
    return `<p class="note" id="provenance">This application is described by a document at <strong>${escapeHtml(documentHost)}</strong>: that host is checked; the name is the document's own claim.</p>`;
  }
  return '<p class="note" id="provenance">This application registered itself with this service: its name, and any site named in it, is its own claim, not checked by anyone.</p>';
}

/** A consent decision to post again: the form's sealed request and the person's choice (see renderErrorPage). */
export interface RetryDecision {
  action: string;
  sealedRequest: string;
  decision: 'allow' | 'deny';
}

/**
 * An error page of ours (RFC 9700 section 4.11.2: errors before the person trusts the client are not redirected).
 * `retry`: a decision storage failed (503), whose claim was given back: the page carries the same form with the
 * same choice, so pressing it posts the decision again. The page used to say "go back to the previous page and
 * press your choice again", which only an HTTP client that kept the form could do: a browser's back button
 * requests the consent page again (it is no-store), and the page naming the signed-in person came from a one-time
 * resume link, so going back showed "This sign-in link was already used" instead (found by
 * test/browser/pages.browser.spec.ts). The form is the one the person already submitted, so it is bound to this
 * browser's consent cookie and checked again like any decision.
 */
export function renderErrorPage(title: string, message: string, retry?: RetryDecision): string {
  const again = retry
    ? `<form method="post" action="${escapeHtml(retry.action)}">
<input type="hidden" name="request" value="${escapeHtml(retry.sealedRequest)}">
<button type="submit" id="decide-again" name="decision" value="${retry.decision}">${retry.decision === 'allow' ? 'Allow' : 'Deny'} again</button>
</form>`
    : '';
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${again}`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
.host{font-size:1.2em}.warning{background:#fff3cd;border:1px solid #c90;padding:.75rem}.note{color:#555;font-size:.9em}
code{word-break:break-all}button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}</style></head>
<body>${body}</body></html>`;
}
