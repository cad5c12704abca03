import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGoogleEmulator, type GoogleEmulator } from '../../emulators/google/google-emulator.js';

// The emulator as `npm run start:local` runs it: state kept in a file, and scopes refused the way Google refuses them.
const REDIRECT = 'http://127.0.0.1:1/callback';
const G = 'https://www.googleapis.com/auth/';

function authorizeUrl(google: GoogleEmulator, scope: string) {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(google.urls.auth);
  const params = { client_id: google.clientId, response_type: 'code', redirect_uri: REDIRECT, state: 's', scope, access_type: 'offline',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { url: url.toString(), verifier };
}

const form = (url: string, body: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });

async function signIn(google: GoogleEmulator, email: string, scope: string) {
  const { url, verifier } = authorizeUrl(google, scope);
  const code = new URL(await google.approve(url, { email })).searchParams.get('code') as string;
  const res = await form(google.urls.token, { client_id: google.clientId, client_secret: google.clientSecret, grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

describe('the Google emulator for the local run', () => {
  it.each([
    ['a short name', `openid email gmail.send`, 'gmail.send'],
    ['a made-up Google scope', `openid ${G}gmail.readonly ${G}gmail.everything`, `${G}gmail.everything`],
    ['another site\'s scope', 'openid https://evil.example/all', 'https://evil.example/all'],
  ])('refuses %s with invalid_scope at its authorize endpoint, naming it', async (_name, scope, bad) => {
    const google = await startGoogleEmulator();
    try {
      const { url } = authorizeUrl(google, scope);
      const page = await fetch(url);
      expect(page.status).toBe(400);
      const text = await page.text();
      expect(text).toContain('invalid_scope');
      expect(text).toContain(`invalid=[${bad}]`);
      await expect(google.approve(url, { email: 'x@example.com' })).rejects.toThrow('invalid_scope');
    } finally {
      await google.stop();
    }
  });

  it('accepts the full scope URLs Google knows, and the OpenID short names', async () => {
    const google = await startGoogleEmulator();
    try {
      const tokens = await signIn(google, 'ok@example.com', `openid email profile ${G}gmail.send ${G}drive.file ${G}tasks https://mail.google.com/`);
      expect(tokens.access_token).toMatch(/^ya29\./);
    } finally {
      await google.stop();
    }
  });

  it('with a state file, a restarted emulator still knows the grants, tokens and Workspace data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emulator-state-'));
    const stateFile = join(dir, 'google.json');
    const first = await startGoogleEmulator({ stateFile });
    let second: GoogleEmulator | undefined;
    try {
      const tokens = await signIn(first, 'kept@example.com', `openid email ${G}tasks`);
      const created = await fetch(`${first.urls.apiRoot}tasks/v1/lists/default/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'kept across restarts' }),
      });
      expect(created.status).toBe(200);
      const keysBefore = await (await fetch(`${first.baseUrl}/oauth2/v3/certs`)).json();
      await first.stop();
      expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ version: 1 });

      second = await startGoogleEmulator({ stateFile });
      // Google's signing key outlives the restart too: id_tokens issued before it still verify.
      expect(await (await fetch(`${second.baseUrl}/oauth2/v3/certs`)).json()).toEqual(keysBefore);
      const listed = await fetch(`${second.urls.apiRoot}tasks/v1/lists/default/tasks`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(listed.status).toBe(200);
      expect(((await listed.json()) as { items: Array<{ title: string }> }).items.map((t) => t.title)).toContain('kept across restarts');
      const refreshed = await form(second.urls.token, { client_id: second.clientId, client_secret: second.clientSecret, grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      expect(refreshed.status).toBe(200);
    } finally {
      await first.stop();
      await second?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
