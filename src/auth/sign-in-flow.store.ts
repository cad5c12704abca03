import { EncryptJWT } from 'jose';
import { BadRequestError } from '../common/domain-error.js';
import { openWithAny } from '../common/sealed-values.js';
import { randomBytes } from 'node:crypto';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';

/** An OAuth client's authorization request, waiting for the person to sign in with Google. */
export interface PendingAuthorization {
  clientId: string;
  redirectUri: string;
  /**
   * The authorization request named no redirect_uri (its client registered one, which `redirectUri` holds): the
   * token request may then leave it out too (RFC 6749 4.1.3, OAuth 2.1 4.1.3).
   */
  redirectUriImplied?: true;
  codeChallenge: string;
  state?: string;
  resource?: string;
  scope?: string;
}

/** What a sign-in carries from `/auth/google` (or `/oauth/authorize`) to the callback. */
export interface SignInFlow {
  loginHint?: string;
  /** This flow is the one automatic restart with prompt=consent; never restart again. */
  retried: boolean;
  /** Set when the sign-in serves an OAuth client: the callback then answers with a redirect and a code. */
  oauth?: PendingAuthorization;
  /** The callback's checked `state`, so the finished flow can be marked spent. */
  state?: string;
  /** The flow's secret its state was claimed with (never leaves this process), so a spent mark can be undone. */
  claimant?: string;
}

/** Why a callback's state was refused; each maps to a 400 with its own next step. */
export interface FlowRejection {
  reason: 'state_missing' | 'state_unknown' | 'state_replayed';
  message: string;
}

export interface FlowCookie {
  name: string;
  value: string;
  maxAgeSeconds: number;
}

/** Where the store leaves cookies for the controller to set (passport's store API only sees the request). */
export const FLOW_COOKIES_OUT = Symbol('flowCookiesOut');

type FlowRequest = { cookies?: Record<string, string | undefined>; [FLOW_COOKIES_OUT]?: FlowCookie[] };
type StoreCallback = (err: Error | null, state?: string) => void;
type VerifyCallback = (err: Error | null, verifier?: string | false, info?: SignInFlow | FlowRejection) => void;

const FLOW_TTL_SECONDS = 600;
const COOKIE_PREFIX = 'wsb_flow_';
/** RFC 6265bis 4.1.3.2: a browser takes a `__Host-` cookie only from this host, Secure, with Path=/ and no Domain. */
export const HOST_PREFIX = '__Host-';
/** Sign-ins one browser may have under way at once (tabs, retries); starting another ends the oldest. */
const MAX_OPEN_FLOWS = 5;

/*
 * Size bounds, so that a browser can never be locked out by its own flow cookies. Measured with the largest values
 * the service accepted before these bounds (flow-cookie-size.spec.ts): one flow cookie reached 8.8 KB (a state of
 * control characters, 6 bytes each once JSON-escaped; a redirect_uri of 3-byte characters; the whole scope
 * vocabulary; a 512-character CIMD client_id), 5 KB with plain ASCII values, while browsers refuse a cookie over
 * 4096 bytes (name, value and attributes), which silently broke such a sign-in; and 5 of them made a 44 KB Cookie
 * header, past Node's 16 KiB header limit (the service keeps Node's default): every request of that browser was
 * refused with 431 for 10 minutes, and any page could do that to a visitor by opening 5 handoff links.
 *
 * 1. The OAuth client's request a flow carries is bounded at /oauth/authorize, before any cookie is set:
 *    MAX_PENDING_REQUEST_BYTES of its own parameters (as stored: UTF-8, JSON-escaped), refused with a 400 naming the
 *    bound (parseAuthorizationRequest). With what the service adds (the browser bindings, the remembered user, the
 *    login_hint, the flow's secrets) a flow cookie then stays under MAX_FLOW_COOKIE_BYTES; store() checks that too, so
 *    a handoff sealed by an older replica cannot set a cookie a browser would refuse.
 * 2. The flows one browser keeps are bounded by their total size as well as their number: the oldest are ended until
 *    the flow cookies, the new one included, take at most FLOW_COOKIES_BUDGET bytes of the Cookie header (the newest
 *    is always kept: a person can always sign in; an ended flow's tab is told "start again" if it comes back). Two flows
 *    of the largest size fit, and five of the usual size (under 1.5 KB). With the consent, remembered-user and
 *    consent-next cookies (under 700 bytes together) the Cookie header then stays under
 *    8 KiB: the default header-line limit of common proxies (nginx's large_client_header_buffers), half of Node's
 *    16 KiB, which leaves the rest to the request line and the browser's other headers. Raising Node's limit instead
 *    would not help a browser's 4096-byte cap per cookie nor a proxy in front.
 */
/** Largest OAuth request (its client's parameters, JSON-encoded UTF-8 bytes) a sign-in flow carries. */
export const MAX_PENDING_REQUEST_BYTES = 1800;
/** Largest flow cookie (name and value) this store sets: under 4096 with the attributes (~90 bytes). */
export const MAX_FLOW_COOKIE_BYTES = 3900;
/** Largest total of this browser's flow cookies in its Cookie header (`name=value; ` each). */
export const FLOW_COOKIES_BUDGET = 7400;

/** The bytes an OAuth request's own parameters take in a flow cookie (before sealing): what MAX_PENDING_REQUEST_BYTES bounds. */
export function pendingRequestBytes(request: PendingAuthorization & { prompt?: string }): number {
  const { clientId, redirectUri, redirectUriImplied, codeChallenge, state, resource, scope, prompt } = request;
  return Buffer.byteLength(JSON.stringify({ clientId, redirectUri, redirectUriImplied, codeChallenge, state, resource, scope, prompt }));
}

/** What one cookie takes of a Cookie header: `name=value` and its `; ` separator. */
const cookieHeaderBytes = (name: string, value: string) => Buffer.byteLength(name) + 1 + Buffer.byteLength(value) + 2;

/**
 * What a finished browser sign-in's cookie is replaced with, so a reload is told "already used", not "not started
 * here". A finished OAuth client's sign-in keeps its request instead (see spentValue).
 */
const SPENT = 'used';
const replayed: FlowRejection = {
  reason: 'state_replayed',
  message: 'This sign-in link was already used (a reload, or the back button). Start a new sign-in at /auth/google.',
};

/**
 * passport-oauth2's state store (the `store` option), kept off every replica's memory so a sign-in may start on
 * one replica and finish on another: the PKCE verifier and flow data travel in an encrypted (AES-256-GCM JWE),
 * HttpOnly cookie named after the state, which binds the flow to the browser that started it. One flow per state
 * is enforced across replicas with a create-only marker in S3, claimed with a secret of the flow (so the same
 * browser's retry after a lost S3 answer goes through) and marked spent once the sign-in is done.
 *
 * With Secure cookies the names carry the `__Host-` prefix. Without it, another host of the site (a sibling
 * subdomain, or a network attacker answering plain http) could plant an attacker's own flow cookie in a victim's
 * browser and send the victim to the attacker's callback link: the victim would finish the attacker's sign-in and be
 * handed a bearer token for the attacker's mailbox (login CSRF).
 */
export class SignInFlowStore {
  private readonly prefix: string;
  /** The key flow cookies are sealed with, then the accepted keys (only opened with): see open(). */
  private readonly keys: Uint8Array[];

  constructor(
    private readonly key: Uint8Array,
    private readonly markers: OneTimeMarkers,
    secureCookies = false,
    acceptedKeys: readonly Uint8Array[] = [],
  ) {
    this.prefix = (secureCookies ? HOST_PREFIX : '') + COOKIE_PREFIX;
    this.keys = [key, ...acceptedKeys];
  }

  /** passport calls this when redirecting to Google (arity 5: PKCE). */
  store(req: FlowRequest, verifier: string, flow: SignInFlow | undefined, _meta: unknown, cb: StoreCallback): void {
    const state = randomBytes(32).toString('base64url');
    // `n`: a secret of this browser's flow, so its own retried claim of the state is recognised (see check()).
    const nonce = randomBytes(16).toString('base64url');
    new EncryptJWT({ st: state, v: verifier, n: nonce, h: flow?.loginHint, r: flow?.retried ?? false, o: flow?.oauth })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${FLOW_TTL_SECONDS}s`)
      .encrypt(this.key)
      .then((value) => {
        const name = this.cookieName(state);
        if (name.length + 1 + value.length > MAX_FLOW_COOKIE_BYTES) {
          // Only a request sealed without the bound of parseAuthorizationRequest (an older replica's handoff) gets here.
          return cb(new BadRequestError(`This sign-in request is too large to keep in a browser cookie (at most ${MAX_FLOW_COOKIE_BYTES} bytes). Go back to the application and connect again.`, 'request_too_large'));
        }
        const out = (req[FLOW_COOKIES_OUT] ??= []);
        out.push(...this.expireOldestFlows(req.cookies, cookieHeaderBytes(name, value)), { name, value, maxAgeSeconds: FLOW_TTL_SECONDS });
        cb(null, state);
      }, (err: Error) => cb(err));
  }

  /** Marks a finished flow's state spent: a later callback with it is a replay, even from the same browser. */
  async spend(state: string): Promise<void> {
    await this.markers.complete('oauth-state', state);
  }

  /** Undoes spend() for this flow's own browser: its retry reaches Google again (which refuses the spent code). */
  async reopen(state: string, claimant: string): Promise<void> {
    await this.markers.reopen('oauth-state', state, claimant);
  }

  /** passport calls this on the callback (arity 4): hands back the PKCE verifier, or refuses the state. */
  verify(req: FlowRequest, providedState: unknown, _meta: unknown, cb: VerifyCallback): void {
    this.check(req, providedState).then(
      (result) => ('verifier' in result ? cb(null, result.verifier, result.flow) : cb(null, false, result)),
      (err: Error) => cb(err),
    );
  }

  /**
   * Claims this browser's flow for `state` when Google sent the person back without a code (error=access_denied:
   * Cancel on Google's consent page). passport answers such a callback without asking the store, so nothing would
   * make it one-time; an OAuth client's sign-in that is answered with a redirect to the client must be, like one
   * with a code: the same checks (this browser's live flow cookie), the same one-time claim, the same cookie
   * replaced by "used". A replay, a copied cookie after the flow finished, or a state this browser never started
   * is refused with the reasons verify() gives.
   */
  async claimDeclined(req: FlowRequest, state: unknown): Promise<SignInFlow | FlowRejection> {
    const result = await this.check(req, state);
    return 'verifier' in result ? result.flow : result;
  }

  private async check(req: FlowRequest, providedState: unknown): Promise<{ verifier: string; flow: SignInFlow } | FlowRejection> {
    if (typeof providedState !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(providedState)) {
      return { reason: 'state_missing', message: 'The callback has no valid "state". Start the sign-in again at /auth/google.' };
    }
    const cookie = req.cookies?.[this.cookieName(providedState)];
    const unknown: FlowRejection = {
      reason: 'state_unknown',
      message: 'This sign-in was not started in this browser, or it expired (10 minutes). Start again at /auth/google in the same browser.',
    };
    if (!cookie) return unknown;
    if (cookie === SPENT) return replayed; // this browser's own sign-in, finished: a reload or the back button
    const payload = await this.open(cookie, providedState);
    if (!payload) return unknown;
    if (payload.spent === true) return replayed; // the same, for an OAuth client's sign-in (spentValue)
    if (typeof payload.v !== 'string') return unknown;
    // Claimed with the flow's own secret: a retry by this browser (S3 applied the claim but its answer was lost, or
    // the person reloads after a 503) is let through; it can only reach Google's code exchange, and Google refuses
    // a code that was already exchanged. Anyone without this cookie was stopped above.
    const nonce = typeof payload.n === 'string' ? payload.n : undefined;
    if (!(await this.markers.claim('oauth-state', providedState, nonce))) {
      return replayed;
    }
    const oauth = oauthOf(payload);
    // Spent: the controller sets this cookie once the sign-in is done.
    (req[FLOW_COOKIES_OUT] ??= []).push({ name: this.cookieName(providedState), value: await this.spentValue(providedState, oauth), maxAgeSeconds: FLOW_TTL_SECONDS });
    const flow: SignInFlow = { loginHint: typeof payload.h === 'string' ? payload.h : undefined, retried: payload.r === true, oauth, state: providedState, claimant: nonce };
    return { verifier: payload.v, flow };
  }

  /**
   * What a finished flow's cookie is replaced with. A browser sign-in's: SPENT. An OAuth client's: its request,
   * sealed like the flow and marked spent (no verifier, no secret: nothing in it can be claimed or exchanged), so a
   * reload or the back button to its callback is told "already used" on the OAuth client's error page, which offers
   * the link that repeats the client's request (SignInErrorPageFilter), instead of "start a new sign-in at
   * /auth/google", whose browser sign-in would end on this service's token page and leave the application waiting.
   */
  private async spentValue(state: string, oauth: PendingAuthorization | undefined): Promise<string> {
    if (!oauth) return SPENT;
    return new EncryptJWT({ st: state, o: oauth, spent: true })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${FLOW_TTL_SECONDS}s`)
      .encrypt(this.key);
  }

  /**
   * The OAuth client's request this browser's flow for `state` serves, read without claiming anything, also once the
   * flow is finished (spentValue): undefined for a browser sign-in or a flow this browser does not hold (another
   * browser, expired). For the callback's error page, which leads an OAuth client's sign-in back into its
   * authorization (SignInErrorPageFilter), and for the decline at Google (GoogleCallbackGuard), whose claim then
   * refuses a finished flow.
   */
  async pendingAuthorization(cookies: Record<string, string | undefined> | undefined, state: unknown): Promise<PendingAuthorization | undefined> {
    if (typeof state !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(state)) return undefined;
    const cookie = cookies?.[this.cookieName(state)];
    if (!cookie || cookie === SPENT) return undefined;
    const payload = await this.open(cookie, state);
    return payload ? oauthOf(payload) : undefined;
  }

  /**
   * A flow cookie's content, when it was sealed here, has not expired, and is the flow of `state`: a live flow (with
   * its verifier `v`) or a finished OAuth client's one (`spent`, see spentValue). Sealed here: with this replica's
   * key, or with a key it accepts (JWT_ACCEPTED_SECRETS / JWT_ACCEPTED_PUBLIC_KEYS), so a sign-in started on a
   * replica already signing with the next key (or still with the previous one) finishes on this one.
   */
  private async open(cookie: string, state: string): Promise<Record<string, unknown> | undefined> {
    const payload = await openWithAny(cookie, this.keys);
    return payload && payload.st === state && (typeof payload.v === 'string' || payload.spent === true) ? payload : undefined;
  }

  /**
   * Expiries for this browser's oldest flow cookies, so that with the new one (`newBytes` of the Cookie header) it
   * holds at most MAX_OPEN_FLOWS, taking at most FLOW_COOKIES_BUDGET bytes. Without a bound, a page that sends a
   * browser to /auth/google over and over piles up flow cookies until its Cookie header passes the server's limit, and
   * that browser cannot sign in (431) until they expire; a bound by number alone let 5 large ones do the same (see
   * the size bounds above). Browsers send the cookies of one path oldest first, so the first names are the oldest
   * flows: the newest are kept while they fit.
   */
  private expireOldestFlows(cookies: Record<string, string | undefined> | undefined, newBytes: number): FlowCookie[] {
    const open = Object.entries(cookies ?? {}).filter(([name]) => name.startsWith(this.prefix));
    let kept = 1;
    let bytes = newBytes;
    let firstKept = open.length;
    for (let i = open.length - 1; i >= 0; i--) {
      const size = cookieHeaderBytes(open[i][0], open[i][1] ?? '');
      if (kept + 1 > MAX_OPEN_FLOWS || bytes + size > FLOW_COOKIES_BUDGET) break;
      kept++;
      bytes += size;
      firstKept = i;
    }
    return open.slice(0, firstKept).map(([name]) => ({ name, value: '', maxAgeSeconds: 0 }));
  }

  private cookieName(state: string): string {
    // One cookie per flow, so two sign-ins in two tabs do not overwrite each other.
    return `${this.prefix}${state.slice(0, 16)}`;
  }
}

/** The OAuth client's request a flow carries, if it serves one (it was sealed with the flow, by this service). */
function oauthOf(payload: Record<string, unknown>): PendingAuthorization | undefined {
  return payload.o && typeof payload.o === 'object' ? (payload.o as PendingAuthorization) : undefined;
}
