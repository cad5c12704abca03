import * as oauth from 'oauth4webapi';
import { createHash, randomBytes } from 'node:crypto';
import type { Service, World } from './harness.js';
import { Browser } from './http-client.js';

/** Our consent page as a person sees it. */
export interface ConsentPage {
  html: string;
  /** The redirect host the page names in plain sight. */
  host: string;
  /** The visible warning, when there is one. */
  warning?: string;
  /** The access lines. */
  access: string[];
  /** The person the page says is signed in, when it comes after the Google sign-in. */
  signedInAs?: string;
  action: string;
  request: string;
}

const decode = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const text = (html: string) => decode(html.replace(/<[^>]+>/g, '')).trim();

/** Reads the consent page, or undefined when the HTML is not one. */
export function readConsentPage(html: string): ConsentPage | undefined {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const request = /<input type="hidden" name="request" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !request) return undefined;
  const list = /<ul>(.*?)<\/ul>/s.exec(html)?.[1] ?? '';
  return {
    html,
    host: text(/id="redirect-host">(.*?)<\/strong>/s.exec(html)?.[1] ?? ''),
    warning: /class="warning"[^>]*>(.*?)<\/p>/s.exec(html)?.[1] ? text(/class="warning"[^>]*>(.*?)<\/p>/s.exec(html)?.[1] as string) : undefined,
    access: [...list.matchAll(/<li>(.*?)<\/li>/gs)].map((m) => text(m[1])),
    signedInAs: /Signed in as <strong>(.*?)<\/strong>/.exec(html)?.[1],
    action: decode(action),
    request: decode(request),
  };
}

/** Presses Allow or Deny on a consent page, as the browser that got the page. */
export function pressConsent(browser: Browser, page: ConsentPage, decision: 'allow' | 'deny'): Promise<Response> {
  return browser.post(page.action, { request: page.request, decision }, { origin: new URL(page.action).origin, accept: 'text/html' });
}

export interface BrowserAuthorization {
  /** Where the browser was finally sent outside this service and Google (the client's redirect URI), if anywhere. */
  location?: URL;
  /** The last response when the flow stopped at a page of ours (an error page). */
  stoppedAt?: Response;
  /** Every consent page shown on the way. */
  consentPages: ConsentPage[];
}

export interface AuthorizeOptions {
  browser?: Browser;
  /** What the person does on each consent page (default: Allow). */
  decide?: (page: ConsentPage) => 'allow' | 'deny';
  /** The Google sign-in as whom, and how (emulator). */
  google?: { emailVerified?: boolean; deny?: boolean; withhold?: string[] };
}

/**
 * Follows `/oauth/authorize` like a browser: our consent pages (pressing what `decide` says, Allow by default), the
 * Google sign-in (emulator, signed in as `email`), our own hops, until the browser is sent to the client.
 */
export async function authorizeInBrowser(world: World, authorizeUrl: string, email: string, opts: AuthorizeOptions = {}): Promise<BrowserAuthorization> {
  const browser = opts.browser ?? new Browser();
  const service = new URL(authorizeUrl).origin;
  const consentPages: ConsentPage[] = [];
  let res = await browser.get(authorizeUrl, { accept: 'text/html' });
  for (let hop = 0; hop < 12; hop++) {
    if (res.status === 200) {
      const html = await res.text();
      const page = readConsentPage(html);
      if (!page) return { stoppedAt: new Response(html, { status: 200, headers: res.headers }), consentPages };
      consentPages.push(page);
      res = await pressConsent(browser, page, opts.decide?.(page) ?? 'allow');
      continue;
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return { stoppedAt: res, consentPages };
    if (location.startsWith(world.google.urls.auth)) {
      res = await browser.get(await world.google.approve(location, { email, ...opts.google }), { accept: 'text/html' });
    } else if (location.startsWith(service)) {
      res = await browser.get(location, { accept: 'text/html' });
    } else {
      return { location: new URL(location), consentPages };
    }
  }
  throw new Error('the authorization kept redirecting');
}

/** The authorize URL for these parameters. */
export function authorizeUrl(base: string, params: Record<string, string>): string {
  const url = new URL(`${base}/oauth/authorize`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

export interface OAuthTokens {
  clientId: string;
  access_token: string;
  refresh_token?: string;
  scope?: string;
}

/**
 * The whole OAuth flow for a fresh public client as an app and its user do it: register, authorize in a browser
 * (consent Allowed, Google sign-in as `email`), exchange the code with the PKCE verifier.
 */
export async function tokensThroughOAuth(world: World, serviceUrl: string, email: string, opts: { metadata?: Record<string, unknown>; params?: Record<string, string> } = {}): Promise<OAuthTokens> {
  const redirectUri = 'http://127.0.0.1:8765/callback';
  const reg = await fetch(`${serviceUrl}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', client_name: 'test app', ...opts.metadata }),
  });
  if (reg.status !== 201) throw new Error(`registration failed: ${reg.status} ${await reg.text()}`);
  const clientId = ((await reg.json()) as { client_id: string }).client_id;
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const { location, stoppedAt } = await authorizeInBrowser(
    world,
    authorizeUrl(serviceUrl, { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256', ...opts.params }),
    email,
  );
  const code = location?.searchParams.get('code');
  if (!code) throw new Error(`no code: ${location ?? `${stoppedAt?.status} ${await stoppedAt?.text()}`}`);
  const res = await fetch(`${serviceUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: redirectUri }),
  });
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status} ${await res.text()}`);
  return { clientId, ...((await res.json()) as Omit<OAuthTokens, 'clientId'>) };
}

/** POSTs a refresh_token grant for a public client; answers status and body. */
export async function refreshGrant(serviceUrl: string, clientId: string, refreshToken: string): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${serviceUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** Registers a public client (PKCE, no secret) with `metadata`; its client_id. */
export async function registerPublicClient(sut: Service, metadata: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token_endpoint_auth_method: 'none', ...metadata }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { client_id: string }).client_id;
}

/** A fresh authorization request (PKCE S256, state `st-1`) and its verifier. */
export async function pkceRequest(clientId: string, redirectUri: string, extra: Record<string, string> = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, params: { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st-1', ...extra } };
}

/** The S3 key of a user's approval of a client (DESIGN.md's layout). */
export function approvalKey(email: string, clientId: string): string {
  const sha256 = (v: string) => createHash('sha256').update(v).digest('base64url');
  return `oauth/approvals/${sha256(email)}/${sha256(clientId)}.json`;
}
