import { createHash, randomBytes } from 'node:crypto';
import { docs } from '@googleapis/docs';
import { drive } from '@googleapis/drive';
import { people } from '@googleapis/people';
import { sheets } from '@googleapis/sheets';
import { OAuth2Client } from 'google-auth-library';
import type { GoogleEmulator } from '../../emulators/google/google-emulator.js';

// Shared by the Workspace API specs of the Google emulator: tokens from the real code flow, the googleapis clients.
const REDIRECT = 'http://127.0.0.1:1/callback';
export const G = 'https://www.googleapis.com/auth/';
export const FULL = ['openid', 'email', `${G}drive`, `${G}documents`, `${G}spreadsheets`, `${G}contacts.readonly`];
export const DOC = 'application/vnd.google-apps.document';
export const SHEET = 'application/vnd.google-apps.spreadsheet';
export const FOLDER = 'application/vnd.google-apps.folder';
export type Json = Record<string, any>;

/** Google's answer to a call that must fail: its status and the `error` object. Throws if the call succeeded. */
export async function refused(call: Promise<unknown>): Promise<{ status: number; error: Json }> {
  try {
    await call;
  } catch (e) {
    const res = (e as { response?: { status: number; data: unknown } }).response;
    if (!res) throw e;
    const data = typeof res.data === 'string' ? JSON.parse(res.data) : res.data;
    return { status: res.status, error: (data as Json).error };
  }
  throw new Error('the call succeeded');
}

/** A matcher for Google's error shape: HTTP status, google.rpc status, and the legacy reason. */
export const googleError = (status: number, rpc: string, reason: string) => ({ status, error: { code: status, status: rpc, errors: [expect.objectContaining({ reason })] } });

/** Token and client helpers bound to one emulator (read lazily: the emulator starts in beforeAll). */
export function workspaceClients(emulator: () => GoogleEmulator) {
  /** An access token for the user with the scopes, through the consent page and the code exchange. */
  async function tokenFor(email: string, scopes: string[]): Promise<string> {
    const google = emulator();
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(google.urls.auth);
    const params = { client_id: google.clientId, response_type: 'code', redirect_uri: REDIRECT, scope: scopes.join(' '), state: 's',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const code = new URL(await google.approve(url.toString(), { email })).searchParams.get('code') as string;
    const body = new URLSearchParams({ client_id: google.clientId, client_secret: google.clientSecret, grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
    const res = await fetch(google.urls.token, { method: 'POST', body });
    return ((await res.json()) as Json).access_token as string;
  }
  /** The per-API clients as the service builds them: rootUrl at the emulator, no retries. */
  async function clientsFor(email: string, scopes = FULL) {
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: await tokenFor(email, scopes) });
    const opts = { auth, rootUrl: emulator().urls.apiRoot, retry: false };
    return { drive: drive({ version: 'v3', ...opts }), docs: docs({ version: 'v1', ...opts }), sheets: sheets({ version: 'v4', ...opts }), people: people({ version: 'v1', ...opts }) };
  }
  // googleapis builds upload URLs from the call's own rootUrl only.
  const upload = () => ({ rootUrl: emulator().urls.apiRoot });
  return { tokenFor, clientsFor, upload };
}
