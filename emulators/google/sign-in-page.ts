import { escapeHtml, unescapeHtml } from './http-util.js';

/** Where the consent form posts. Google's real consent flow spans several pages; one form is enough to emulate it. */
export const APPROVE_PATH = '/o/oauth2/v2/approve';

export interface ConsentPageInput {
  requestId: string;
  clientId: string;
  scopes: string[];
  loginHint: string;
  offline: boolean;
  forceConsent: boolean;
  /** Shown above the form when the person submitted it without an email. */
  problem?: string;
}

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}'
  + 'input[type=email]{width:100%;padding:.5rem;margin:.25rem 0 1rem;box-sizing:border-box}'
  + 'button{padding:.5rem 1.25rem;margin-right:.5rem}.problem{color:#b00020}.note{color:#555;font-size:.9rem}';

/**
 * Google's account chooser and consent screen in one page, for a person at `npm run start:local` and for approve():
 * any email signs in (no password; this is an emulator), "email verified" can be unticked to try the service's
 * 403, and Deny sends access_denied back to the application.
 */
export function signInPage(p: ConsentPageInput): string {
  // Google's granular consent: each API scope has its own checkbox (ticked); the sign-in scopes are always granted.
  // The checkboxes sit inside the form, so a real browser submits them (approve() reads them from the page).
  const scopeList = p.scopes
    .map((s, i) => (isSignInScope(s) ? `<li><code>${escapeHtml(s)}</code></li>` : `<li><label><input type="checkbox" name="grant_${i}" value="${escapeHtml(s)}" checked> <code>${escapeHtml(s)}</code></label></li>`))
    .join('');
  const notes = [
    p.offline ? 'Offline access requested (the application may get a refresh token).' : 'Online access only: no refresh token will be issued.',
    p.forceConsent ? 'prompt=consent: a new refresh token is issued even if you allowed this application before.' : '',
  ].filter(Boolean);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Google Accounts (emulator)</title><style>${STYLE}</style></head>
<body>
<h1>Sign in with Google</h1>
<p class="note">Google emulator: any email address signs in, no password.</p>
${p.problem ? `<p class="problem">${escapeHtml(p.problem)}</p>` : ''}
<form method="post" action="${APPROVE_PATH}">
<p>The application <code>${escapeHtml(p.clientId)}</code> wants to:</p>
<ul>${scopeList}</ul>
${notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n')}
<input type="hidden" name="request" value="${escapeHtml(p.requestId)}">
<input type="hidden" name="granular" value="1">
<label for="email">Email</label>
<input type="email" id="email" name="email" value="${escapeHtml(p.loginHint)}" required autofocus>
<p><label><input type="checkbox" name="email_verified" value="true" checked> Email address verified</label></p>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form>
</body></html>`;
}

/** OpenID Connect's sign-in scopes, granted with the sign-in itself (Google shows no checkbox for them). */
export function isSignInScope(scope: string): boolean {
  return ['openid', 'email', 'profile'].includes(scope) || scope.endsWith('/auth/userinfo.email') || scope.endsWith('/auth/userinfo.profile');
}

/** The scopes whose checkboxes a consent page shows (ticked), by form field name. */
export function readScopeCheckboxes(page: string): Record<string, string> {
  return Object.fromEntries([...page.matchAll(/<input type="checkbox" name="(grant_\d+)" value="([^"]*)" checked>/g)].map((m) => [m[1], unescapeHtml(m[2])]));
}

/** Google shows authorize errors on its own page (it does not trust the redirect_uri yet): "Error 400: invalid_request". */
export function errorPage(status: number, error: string, description: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Error ${status}: ${escapeHtml(error)}</title><style>${STYLE}</style></head>
<body><h1>Access blocked: this request is invalid</h1>
<p class="problem">Error ${status}: <span id="error">${escapeHtml(error)}</span></p>
<p id="error_description">${escapeHtml(description)}</p></body></html>`;
}

/** Reads the consent form back out of the page, as a browser would: where it posts and its hidden fields. */
export function readConsentForm(page: string): { action: string; fields: Record<string, string> } | undefined {
  const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
  if (!action) return undefined;
  const fields: Record<string, string> = {};
  for (const m of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[unescapeHtml(m[1])] = unescapeHtml(m[2]);
  return { action: unescapeHtml(action), fields };
}

/** The error an error page shows, for approve()'s exception message. */
export function readErrorPage(page: string): string {
  const error = /<span id="error">([^<]*)<\/span>/.exec(page)?.[1] ?? 'unknown_error';
  const description = /<p id="error_description">([^<]*)<\/p>/.exec(page)?.[1] ?? '';
  return `${unescapeHtml(error)}: ${unescapeHtml(description)}`;
}
