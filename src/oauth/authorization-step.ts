import { timingSafeEqual } from 'node:crypto';
import type { AuthorizationRequest } from './authorization-request.js';

/** What the browser is sent next. */
export type AuthorizationStep =
  /** Our consent page (HTML). `csrf` is the browser's consent cookie value to set when it had none. */
  | { kind: 'consent'; html: string; csrf?: string }
  /** On to the Google sign-in, carrying the request; `csrf` as for the consent page. */
  | { kind: 'sign-in'; request: AuthorizationRequest; csrf?: string }
  /** Back to the client (a code or an error); `remember` names the user to remember in this browser. */
  | { kind: 'client'; location: string; remember?: string };

/** The browser's cookies the authorization flow reads. */
export interface FlowCookies {
  /** Random per-browser value the consent form is bound to (HttpOnly, SameSite=Lax). */
  csrf?: string;
  /** Sealed name of the user who last approved a client in this browser (HttpOnly, SameSite=Lax). */
  rememberedUser?: string;
}

/**
 * When a sealed form or ticket's sign-in happened. Those sealed before the time was recorded (in flight across a
 * deploy, minutes at most) count as signed in at the epoch: refused if the user has ever revoked, else as before.
 */
export const signInTimeOf = (sealed: { signedInAt?: number }) => (typeof sealed.signedInAt === 'number' ? sealed.signedInAt : 0);

/** Whether a consent cookie value is one this service makes (32 random bytes, base64url). */
export function validCsrf(value: string | undefined): boolean {
  return value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** Whether a digest sealed in a form or ticket is `b` (a browser binding), compared in constant time. */
export function sameDigest(a: unknown, b: string): boolean {
  return typeof a === 'string' && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
