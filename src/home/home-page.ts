import { html, htmlDocument } from '../common/html-page.js';

/** The front door at `/`: what the service is, where to sign in, where the documentation and health are. */
export function homePage(publicUrl: string): string {
  return htmlDocument(
    'Google Workspace credential broker',
    `<main>
<h1>Google Workspace credential broker</h1>
<p class="lead">Lets software act on Google Workspace (Gmail, Drive, Calendar, Docs, Sheets, Tasks, Contacts) on behalf of many users.</p>
<p>Sign in once with Google: the service keeps your Google credentials (encrypted, in S3), refreshes them, and gives you a
bearer token for its REST API (<code>/v1/users/me/...</code>) and its MCP endpoint (<code>/mcp</code>).</p>
<p><a class="button" id="sign-in" href="/auth/google">Sign in with Google</a></p>
<h2>More</h2>
<ul class="links">
<li><a href="/docs">API documentation</a> (OpenAPI, try the routes with your token)</li>
<li><a href="/health/ready">Readiness</a> (is S3 reachable?)</li>
</ul>
<p class="note">This service: <code>${html(publicUrl)}</code></p>
</main>`,
  );
}
