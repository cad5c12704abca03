import { html, htmlDocument } from '../common/html-page.js';
import type { SignInResult } from './auth.service.js';

/** A value in single quotes for a POSIX shell. */
const shellQuoted = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The callback's answer to a person's browser: the bearer token with a copy button, a ready `export TOKEN=...` line
 * and three curl examples against this service. API clients get the same values as JSON (HTTP contract unchanged).
 */
export function tokenPage(result: SignInResult, publicUrl: string): string {
  const minutes = Math.round(result.expires_in / 60);
  const exportLine = `export TOKEN=${shellQuoted(result.access_token)}`;
  const curl = (path: string) => `curl -H "Authorization: Bearer $TOKEN" ${shellQuoted(`${publicUrl}${path}`)}`;
  const examples = [curl('/auth/session'), curl('/v1/users/me/gmail/messages?maxResults=5'), curl('/v1/users/me/drive/files?pageSize=5')].join('\n');
  // The link to /docs opens a new tab: followed in this one, the token was gone for good (the page is no-store and
  // its callback single use, so the back button showed "already used"), just when /docs asks for it ("Authorize");
  // found by test/browser/pages.browser.spec.ts.
  return htmlDocument(
    'Signed in: your bearer token',
    `<main>
<h1>Signed in as <span id="email">${html(result.email)}</span></h1>
<p class="lead">Your bearer token for this service; it is valid for ${html(minutes)} minutes (session <code>${html(result.session_id)}</code>).
Keep it secret: whoever has it acts as you.</p>
<h2>Token</h2>
<pre id="token">${html(result.access_token)}</pre>
<p><button type="button" id="copy-token" class="secondary" data-copy="token" data-what="the token">Copy token</button></p>
<h2>In a terminal</h2>
<pre id="export">${html(exportLine)}</pre>
<p><button type="button" id="copy-export" class="secondary" data-copy="export" data-what="the export line">Copy export line</button></p>
<pre id="examples">${html(examples)}</pre>
<p id="copy-status" role="status" aria-live="polite"></p>
<p class="note">More routes in the <a id="docs" href="/docs" target="_blank" rel="noopener">API documentation</a> (a new tab: this one keeps the token). This page is not stored; reloading it does not show the token again.
To sign in again, start at <a href="/">the front page</a>.</p>
</main>`,
  );
}
