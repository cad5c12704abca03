import { hkdfSync } from 'node:crypto';
import { SealedValues } from '../common/sealed-values.js';
import type { PendingAuthorization } from './sign-in-flow.store.js';

/** How long a handoff link works: the browser follows it at once; ten minutes, like the flow it starts. */
const HANDOFF_TTL_SECONDS = 600;

/**
 * An OAuth client's pending request, sealed into the link `/oauth/authorize` sends the browser to
 * (`/auth/google?handoff=...`) when the person must sign in with Google first.
 *
 * Why the hop: the sign-in flow's cookie lives on the path /auth/google, and the bound on how many of them one
 * browser holds (SignInFlowStore) can only be kept by a request that carries them; a request to /oauth/authorize
 * does not, so a page sending a browser through /oauth/authorize again and again would pile them up until the
 * browser's Cookie header passed the server's limit and it could not sign in at all. The hop also lands the browser
 * on PUBLIC_URL's host, where Google sends it back. Sealed (AES-256-GCM, key derived from the flow cookie key for
 * this purpose only) so nobody can make the service start a sign-in for a request its own checks did not pass;
 * replaying a link only starts the same sign-in again, as following the same /oauth/authorize link would.
 */
export class SignInHandoff {
  private readonly sealed: SealedValues;

  /** `acceptedFlowCookieKeys`: the flow cookie keys of the accepted JWT keys; links sealed with them open too. */
  constructor(flowCookieKey: Uint8Array, acceptedFlowCookieKeys: readonly Uint8Array[] = []) {
    const derive = (key: Uint8Array) => new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), 'sign-in-handoff', 32));
    this.sealed = new SealedValues(derive(flowCookieKey), acceptedFlowCookieKeys.map(derive));
  }

  /** The sealed request, for the handoff link's query. */
  seal(request: PendingAuthorization): Promise<string> {
    return this.sealed.seal('sign-in-handoff', { o: request }, HANDOFF_TTL_SECONDS);
  }

  /** The request a handoff link carries; undefined when it was not sealed here, was altered, or has expired. */
  async open(sealed: string): Promise<PendingAuthorization | undefined> {
    const o = (await this.sealed.open<{ o?: Partial<PendingAuthorization> }>('sign-in-handoff', sealed))?.o;
    if (!o || typeof o.clientId !== 'string' || typeof o.redirectUri !== 'string' || typeof o.codeChallenge !== 'string') return undefined;
    return o as PendingAuthorization;
  }
}
