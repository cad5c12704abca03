import { escapeHtml } from './http-util.js';

/** Google's consent page, reduced to what a person needs: an email field, Allow and Deny. */
export function signInPage(requestId: string, loginHint: string, clientId: string, scopes: string[]): string {
  const scopeList = scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Google emulator</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:3rem auto}input{width:100%;padding:.5rem;margin:.5rem 0}button{padding:.5rem 1rem;margin-right:.5rem}</style>
</head><body>
<h1>Sign in with Google (emulator)</h1>
<p>The application <code>${escapeHtml(clientId)}</code> asks for:</p><ul>${scopeList}</ul>
<form method="post" action="/o/oauth2/v2/approve">
  <input type="hidden" name="request" value="${escapeHtml(requestId)}">
  <input type="hidden" name="email_verified" value="true">
  <label>Email <input type="email" name="email" value="${escapeHtml(loginHint)}" required autofocus></label>
  <button type="submit" name="decision" value="allow">Allow</button>
  <button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form>
</body></html>`;
}
