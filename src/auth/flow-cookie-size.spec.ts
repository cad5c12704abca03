import { randomBytes } from 'node:crypto';
import { DomainError } from '../common/domain-error.js';
import { SCOPE_VOCABULARY } from '../common/google-scopes.js';
import { SealedValues } from '../common/sealed-values.js';
import { AuthorizationRequestError, parseAuthorizationRequest, type AuthorizationRequest } from '../oauth/authorization-request.js';
import type { OAuthClient } from '../oauth/oauth-client.js';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';
import { SignInHandoff } from './sign-in-handoff.js';
import { FLOW_COOKIES_BUDGET, FLOW_COOKIES_OUT, FlowCookie, MAX_FLOW_COOKIE_BYTES, MAX_PENDING_REQUEST_BYTES, pendingRequestBytes, SignInFlowStore } from './sign-in-flow.store.js';

/**
 * The sizes of the cookies a browser can be made to hold by this service, with the largest values it accepts. Browsers
 * refuse a cookie over 4096 bytes (name, value and attributes); Node refuses a request whose headers pass 16 KiB (431).
 * Before the bounds (commit "Measured the flow cookies..."): one flow cookie up to 8783 bytes, 5021 with plain ASCII
 * values, and a 44287-byte Cookie header with 5 of them.
 */
const setCookieLine = (c: FlowCookie) => `${c.name}=${c.value}; Max-Age=600; Path=/; Expires=Mon, 07 Dec 2026 04:30:00 GMT; HttpOnly; Secure; SameSite=Lax`;

async function storeOne(store: SignInFlowStore, oauth: AuthorizationRequest | undefined, loginHint: string | undefined, cookies: Record<string, string> = {}): Promise<FlowCookie[]> {
  const req: { cookies: Record<string, string>; [FLOW_COOKIES_OUT]?: FlowCookie[] } = { cookies };
  await new Promise<void>((resolve, reject) => store.store(req, randomBytes(32).toString('base64url'), { loginHint, retried: false, oauth }, {}, (err) => (err ? reject(err) : resolve())));
  return req[FLOW_COOKIES_OUT] ?? [];
}

/** Applies Set-Cookies to a jar as a browser does. */
function apply(jar: Record<string, string>, cookies: FlowCookie[]): void {
  for (const c of cookies) {
    if (c.maxAgeSeconds === 0) delete jar[c.name];
    else {
      delete jar[c.name]; // a replaced cookie keeps its place in real browsers; the newest last is the worst case here
      jar[c.name] = c.value;
    }
  }
}

/** The longest address normalizeEmail accepts (254 characters). */
const longestEmail = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example`.slice(0, 254);
const cimdId = `https://cimd.example/${'c'.repeat(512 - 21)}`; // a CIMD URL at /oauth/authorize's 512-character bound
const client: OAuthClient = { clientId: cimdId, redirectUris: [`https://r.example/${'€'.repeat(512 - 18)}`, `https://r.example/${'€'.repeat(100)}`], tokenEndpointAuthMethod: 'none', createdAt: '2026-01-01T00:00:00Z', static: false };
const resource = `https://service.example/${'r'.repeat(80)}`;

/** An /oauth/authorize query with the largest values of every parameter; `stateChars` control characters in state. */
const worstQuery = (stateChars: number, scope = SCOPE_VOCABULARY.join(' '), redirectUri = client.redirectUris[0]) => ({
  response_type: 'code',
  client_id: cimdId,
  redirect_uri: redirectUri, // up to 512 characters (redirect-uris.ts), 3 UTF-8 bytes each
  code_challenge: 'x'.repeat(43),
  code_challenge_method: 'S256',
  state: '\u0001'.repeat(stateChars), // JSON-escaped to 6 bytes each
  resource,
  scope,
  prompt: 'consent',
});
const parse = (q: Record<string, unknown>) => parseAuthorizationRequest(q, client, (r) => (r === resource ? r : undefined));

/** The largest request /oauth/authorize accepts now, with everything the service adds to it on the way. */
function largestAccepted(): AuthorizationRequest {
  // The longest client_id, a long redirect URI of 3-byte characters, every optional parameter, then the longest state
  // of control characters that still passes: within 6 bytes of the bound.
  let best: AuthorizationRequest | undefined;
  for (const scope of [SCOPE_VOCABULARY[0], SCOPE_VOCABULARY.slice(0, 3).join(' ')]) {
    for (let chars = 512; chars >= 1; chars--) {
      try {
        const r = parse(worstQuery(chars, scope, client.redirectUris[1]));
        if (!best || pendingRequestBytes(r) > pendingRequestBytes(best)) best = r;
        break;
      } catch {
        /* too large: one character less */
      }
    }
  }
  return { ...(best as AuthorizationRequest), approved: true, approvedIn: 'y'.repeat(43), startedIn: 'z'.repeat(43), rememberedUser: longestEmail };
}

describe('flow cookie sizes: a browser can never be locked out by its own cookies', () => {
  const key = new Uint8Array(randomBytes(32));
  const store = new SignInFlowStore(key, {} as OneTimeMarkers, true);

  it('/oauth/authorize refuses a request whose parameters pass the bound, saying the bound, and accepts one within it', () => {
    let refused: unknown;
    try {
      parse(worstQuery(512));
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(AuthorizationRequestError);
    expect((refused as AuthorizationRequestError).code).toBe('invalid_request');
    expect((refused as AuthorizationRequestError).description).toContain(`at most ${MAX_PENDING_REQUEST_BYTES}`);
    // A plain ASCII request at every character bound (512 each, the whole vocabulary) is refused too: its cookie was 5 KB.
    expect(() => parse({ ...worstQuery(1), redirect_uri: client.redirectUris[1], state: 's'.repeat(512) })).toThrow(/too large/);
    // What clients send (a 43-character state, a few scopes, a short redirect URI) is far within it.
    const usual = parseAuthorizationRequest(
      { response_type: 'code', client_id: 'wsb_client', redirect_uri: 'http://127.0.0.1:8765/callback', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', state: 's'.repeat(43), scope: SCOPE_VOCABULARY.slice(0, 10).join(' ') },
      { ...client, clientId: 'wsb_client', redirectUris: ['http://127.0.0.1:8765/callback'] },
      () => undefined,
    );
    expect(pendingRequestBytes(usual)).toBeLessThan(MAX_PENDING_REQUEST_BYTES / 2);
  });

  it('the largest flow cookie stays under a browser\'s 4096 bytes, attributes included', async () => {
    const request = largestAccepted();
    expect(pendingRequestBytes(request)).toBeGreaterThan(MAX_PENDING_REQUEST_BYTES - 10);
    const [cookie] = await storeOne(store, request, longestEmail);
    const line = setCookieLine(cookie).length;
    console.log(JSON.stringify({ largestFlowCookie: cookie.name.length + 1 + cookie.value.length, largestSetCookie: line, handoff: (await new SignInHandoff(key).seal(request)).length }));
    expect(cookie.name.length + 1 + cookie.value.length).toBeLessThanOrEqual(MAX_FLOW_COOKIE_BYTES);
    expect(line).toBeLessThan(4096);
  });

  it('the store refuses a request sealed without the bound (an older replica\'s handoff) rather than set a cookie a browser drops', async () => {
    const old = { ...parse(worstQuery(1, SCOPE_VOCABULARY[0], client.redirectUris[1])), redirectUri: client.redirectUris[0], state: '\u0001'.repeat(512), scope: SCOPE_VOCABULARY.join(' ') };
    await expect(storeOne(store, old, longestEmail)).rejects.toMatchObject({ status: 400, error: 'request_too_large' });
    await expect(storeOne(store, old, longestEmail)).rejects.toBeInstanceOf(DomainError);
  });

  it('the largest Cookie header: the newest flows are kept while they fit the budget, the new one always', async () => {
    const request = largestAccepted();
    const jar: Record<string, string> = {};
    for (let i = 0; i < 8; i++) {
      const out = await storeOne(store, request, longestEmail, { ...jar });
      apply(jar, out);
      const newest = out[out.length - 1];
      expect(jar[newest.name]).toBe(newest.value); // the sign-in just started is always kept
    }
    const flows = Object.entries(jar).map(([n, v]) => `${n}=${v}; `).join('').length;
    const others = {
      '__Host-wsb_oauth_csrf': randomBytes(32).toString('base64url'),
      '__Host-wsb_oauth_user': await new SealedValues(key).seal('remembered-user', { email: longestEmail }, 30 * 24 * 3600),
      '__Host-wsb_consent_next': '1',
    };
    const header = Object.entries({ ...jar, ...others }).map(([n, v]) => `${n}=${v}`).join('; ');
    console.log(JSON.stringify({ maximalFlowsKept: Object.keys(jar).length, flowCookieBytes: flows, cookieHeader: header.length }));
    expect(Object.keys(jar)).toHaveLength(2); // two of the largest flows at once (two tabs)
    expect(flows).toBeLessThanOrEqual(FLOW_COOKIES_BUDGET);
    expect(header.length).toBeLessThan(8192);
  });

  it('small flows are still kept up to 5 (the bound by number), and a large one ends only as many old ones as it must', async () => {
    const jar: Record<string, string> = {};
    for (let i = 0; i < 8; i++) apply(jar, await storeOne(store, undefined, undefined, { ...jar }));
    expect(Object.keys(jar)).toHaveLength(5);
    const before = Object.keys(jar);
    apply(jar, await storeOne(store, largestAccepted(), longestEmail, { ...jar }));
    const kept = before.filter((n) => n in jar);
    expect(kept).toEqual(before.slice(before.length - kept.length)); // the newest of the old ones
    expect(Object.keys(jar).length).toBeGreaterThanOrEqual(2);
    expect(Object.entries(jar).map(([n, v]) => `${n}=${v}; `).join('').length).toBeLessThanOrEqual(FLOW_COOKIES_BUDGET);
  });
});
