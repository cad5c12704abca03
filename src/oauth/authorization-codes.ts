import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';
import { OAuthError } from './oauth-error.js';

/** What an authorization code stands for. */
export interface AuthorizationGrant {
  clientId: string;
  redirectUri: string;
  /** The authorization request named no redirect_uri: the exchange may leave it out (PendingAuthorization). */
  redirectUriImplied?: true;
  codeChallenge: string;
  email: string;
  resource?: string;
  scope?: string;
  /** The refresh token family the exchange creates; revoked if the code is ever presented again. */
  familyId: string;
  /**
   * When the user signed in with Google for this authorization (ms since the epoch; earlier than the code when it
   * went through a resume ticket or a consent page). A revocation of the user at or after it voids the code.
   */
  signedInAt: number;
  expiresAt: number;
}

export type CodeRedemption =
  /** `claimant`: this redemption's secret, to give the code back with release() when the exchange fails. */
  | { status: 'ok'; grant: AuthorizationGrant; claimant: string }
  | { status: 'reused'; grant: AuthorizationGrant }
  | { status: 'unknown' }
  | { status: 'expired' }
  /** Issued to another client than the one presenting it: neither spent nor a replay (see redeem). */
  | { status: 'foreign' };

const CODE_TTL_MS = 60_000;

/** What the token request presents besides the code: its PKCE verifier and redirect_uri (undefined: left out). */
export interface CodeProof {
  verifier: string;
  redirectUri: string | undefined;
}

/** Throws invalid_grant unless `proof` matches the grant (RFC 6749 section 4.1.3, RFC 7636 section 4.6). */
function proveHolder(grant: AuthorizationGrant, { verifier, redirectUri }: CodeProof): void {
  // Required, and identical, when the authorization request sent one; may be left out when it did not (RFC 6749 4.1.3).
  if (redirectUri === undefined ? !grant.redirectUriImplied : redirectUri !== grant.redirectUri) {
    throw new OAuthError('invalid_grant', 'redirect_uri must be identical to the one in the authorization request.');
  }
  if (sha256Url(verifier) !== grant.codeChallenge) {
    throw new OAuthError('invalid_grant', 'The PKCE code_verifier does not match the code_challenge.');
  }
}

/** When the code's sign-in happened; a code stored before `signedInAt` was recorded counts from its own issue. */
export function signedInAtOf(grant: AuthorizationGrant): number {
  return typeof grant.signedInAt === 'number' ? grant.signedInAt : grant.expiresAt - CODE_TTL_MS;
}

/**
 * One-time authorization codes, valid 60 s, in S3 under `{OAUTH_PREFIX}codes/` (keyed by the code's SHA-256, so
 * the bucket never holds a usable code). A create-only marker decides, across replicas, which redemption was first.
 */
@Injectable()
export class AuthorizationCodes {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    private readonly markers: OneTimeMarkers,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}codes/`;
  }

  /** Issues a code for a grant. */
  async issue(grant: Omit<AuthorizationGrant, 'expiresAt' | 'familyId'>): Promise<string> {
    const code = randomBytes(32).toString('base64url');
    const stored: AuthorizationGrant = { ...grant, familyId: randomBytes(16).toString('base64url'), expiresAt: Date.now() + CODE_TTL_MS };
    await this.objects.create(this.key(code), stored); // a lost answer is not a 409 at the end of a sign-in
    return code;
  }

  /**
   * Redeems a code once for the client presenting it (`clientId`, authenticated) with its `proof`; a second
   * redemption reports `reused` with the grant, so its tokens can be revoked. Checked before anything is claimed: the
   * client (RFC 6749 section 4.1.3), since anyone can authenticate as a client of their own, and a code found in a log
   * or a browser history would otherwise spend another client's code, or revoke what it issued; the lifetime, since a
   * replay is an attack signal only while the code could still be exchanged (a late one revoked the grant of whoever's
   * code turned up, as an expired refresh family does not); and the proof (proveHolder throws invalid_grant), for
   * the same reason within the lifetime.
   */
  async redeem(code: string, clientId: string, proof: CodeProof): Promise<CodeRedemption> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(code)) return { status: 'unknown' };
    const stored = await this.objects.get(this.key(code));
    if (!stored) return { status: 'unknown' };
    const grant = stored.value as AuthorizationGrant;
    if (grant.clientId !== clientId) return { status: 'foreign' };
    if (grant.expiresAt < Date.now()) return { status: 'expired' };
    // And the holder: a public client's id is public, so a code that leaked from the redirect URI's query (a log, a
    // browser history, a Referer) could otherwise be spent by anyone, or, once exchanged, revoke what it issued. Only
    // the PKCE verifier, which never leaves the client, proves the code is theirs to spend (or to replay).
    proveHolder(grant, proof);
    // The claimant is this redemption alone: when S3 applied the claim but its answer was lost, the SDK's retry meets
    // its own marker and goes on, while any other request, the same client's identical one included, is a replay
    // (unless this redemption failed on S3 and gave the code back: release()).
    const claimant = randomBytes(16).toString('base64url');
    let claimed: boolean;
    try {
      claimed = await this.markers.claim('oauth-code', code, claimant);
    } catch (err) {
      // S3 may have applied the claim and lost every answer: without giving it back, the client's retry (told 503)
      // would be taken for a replay and revoke its own grant.
      await this.release(code, claimant);
      throw err;
    }
    if (!claimed) return { status: 'reused', grant };
    return { status: 'ok', grant, claimant };
  }

  /**
   * Gives a redeemed code back after its exchange failed on S3 before any token was answered, so the client's retry
   * (told 503: retry) redeems it again instead of being taken for a replay that revokes its grant. A replay while
   * the exchange runs, or after it answered, still finds the claim. Never throws: when S3 refuses this too, the
   * retry is refused as a replay, as before.
   */
  async release(code: string, claimant: string): Promise<void> {
    await this.markers.giveBack('oauth-code', code, claimant);
  }

  /** The S3 key of a code (tests reach the stored grant with it). */
  key(code: string): string {
    return `${this.prefix}${sha256Url(code)}.json`;
  }
}
