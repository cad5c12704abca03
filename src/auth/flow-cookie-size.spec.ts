import { randomBytes } from 'node:crypto';
import { SCOPE_VOCABULARY } from '../common/google-scopes.js';
import { SealedValues } from '../common/sealed-values.js';
import type { AuthorizationRequest } from '../oauth/authorization-request.js';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';
import { SignInHandoff } from './sign-in-handoff.js';
import { FLOW_COOKIES_OUT, FlowCookie, SignInFlowStore } from './sign-in-flow.store.js';

/**
 * The sizes of the cookies a browser can be made to hold by this service, with the largest values it accepts. Browsers
 * refuse a cookie over 4096 bytes (name, value and attributes); Node refuses a request whose headers pass 16 KiB (431).
 */
const setCookieLength = (c: FlowCookie) => `${c.name}=${c.value}; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Lax`.length;

async function storeOne(store: SignInFlowStore, oauth: AuthorizationRequest | undefined, loginHint: string | undefined, cookies: Record<string, string> = {}): Promise<FlowCookie[]> {
  const req: { cookies: Record<string, string>; [FLOW_COOKIES_OUT]?: FlowCookie[] } = { cookies };
  await new Promise<void>((resolve, reject) => store.store(req, randomBytes(32).toString('base64url'), { loginHint, retried: false, oauth }, {}, (err) => (err ? reject(err) : resolve())));
  return req[FLOW_COOKIES_OUT] ?? [];
}

/** The longest address normalizeEmail accepts (254 characters). */
const longestEmail = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example`.slice(0, 254);

/** The largest request /oauth/authorize seals today; `stateChars` control characters in state (JSON: 6 bytes each). */
const worstRequest = (stateChars: number): AuthorizationRequest => ({
  clientId: `https://cimd.example/${'c'.repeat(512 - 21)}`, // a CIMD URL at /oauth/authorize's 512-character bound
  redirectUri: `https://r.example/${'€'.repeat(512 - 18)}`, // 512 characters (redirect-uris.ts), 3 UTF-8 bytes each
  codeChallenge: 'x'.repeat(43),
  state: '\u0001'.repeat(stateChars), // 512 characters of anything (authorization-request.ts)
  resource: `https://service.example/${'r'.repeat(80)}`,
  scope: SCOPE_VOCABULARY.join(' '), // every scope of the vocabulary (scope-request.ts dedups)
  prompt: 'consent',
  approved: true,
  approvedIn: 'y'.repeat(43),
  startedIn: 'z'.repeat(43),
  rememberedUser: longestEmail,
});

describe('flow cookie sizes (measured)', () => {
  const key = new Uint8Array(randomBytes(32));
  const store = new SignInFlowStore(key, {} as OneTimeMarkers, true);
  const handoffs = new SignInHandoff(key);

  it('the largest flow cookie and Cookie header a browser can be made to hold', async () => {
    // A handoff link opens only up to 8192 characters (SealedValues.open): the largest request is the one that fits.
    let chars = 512;
    while ((await handoffs.seal(worstRequest(chars))).length > 8192) chars--;
    const request = worstRequest(chars);
    const handoff = await handoffs.seal(request);
    const jar: Record<string, string> = {};
    let largest = 0;
    for (let i = 0; i < 8; i++) {
      for (const c of await storeOne(store, request, longestEmail, { ...jar })) {
        if (c.maxAgeSeconds === 0) delete jar[c.name];
        else jar[c.name] = c.value;
        largest = Math.max(largest, setCookieLength(c));
      }
    }
    const oauthSealed = new SealedValues(key);
    const others = {
      '__Host-wsb_oauth_csrf': randomBytes(32).toString('base64url'),
      '__Host-wsb_oauth_user': await oauthSealed.seal('remembered-user', { email: longestEmail }, 30 * 24 * 3600),
      '__Host-wsb_consent_next': '1',
    };
    const header = Object.entries({ ...jar, ...others }).map(([n, v]) => `${n}=${v}`).join('; ');
    const flows = Object.keys(jar).length;
    console.log(JSON.stringify({ stateChars: chars, handoff: handoff.length, largestSetCookie: largest, flows, cookieHeader: header.length, otherCookies: Object.values(others).map((v) => v.length) }));
    expect(flows).toBeLessThanOrEqual(5);
  });

  it('the largest flow cookie with plain ASCII values (every field at its character bound)', async () => {
    const ascii: AuthorizationRequest = { ...worstRequest(0), redirectUri: `https://r.example/${'p'.repeat(512 - 18)}`, state: 's'.repeat(512) };
    const [cookie] = await storeOne(store, ascii, longestEmail);
    console.log(JSON.stringify({ asciiSetCookie: setCookieLength(cookie), handoff: (await handoffs.seal(ascii)).length }));
  });
});
