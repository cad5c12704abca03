import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { LRUCache } from 'lru-cache';
import { growingLru } from '../common/growing-lru.js';
import { createHash, createPublicKey, createSecretKey, hash, type KeyObject, randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { ProtectedResources } from './protected-resources.js';
import type { Session } from './session.js';

/** The claims of a verified bearer token. */
export interface BearerClaims {
  iss: string;
  aud: string;
  sub: string;
  email: string;
  sid: string;
  iat: number;
  exp: number;
  jti: string;
  /** The OAuth client the token was issued to (absent for tokens from the browser sign-in). */
  client_id?: string;
  /** What the token may do: space separated Google scope URLs (RFC 9068 style); absent or empty = nothing. */
  scope?: string;
}

/** The scopes a verified token carries. */
export function tokenScopes(claims: Pick<BearerClaims, 'scope'>): string[] {
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
}

export interface IssueOptions {
  /** RFC 8707 resource the token is for; becomes `aud`. */
  audience?: string;
  clientId?: string;
  /** Scopes granted to the token; only those of the service's vocabulary are written into it. */
  scopes?: readonly string[];
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
}

const VERIFIED_CACHE_MAX = 50_000;
/** Tokens remembered by their own text in front of the digest-keyed cache (see `recent`): about 0.7 MB at most. */
const RECENT_TOKENS_MAX = 1_024;
/** Distinct issuer, audience, scope and client strings kept shared; a deployment has a handful of each. */
const SHARED_STRINGS_MAX = 1_000;

/**
 * Issues and verifies the service's bearer JWTs. The algorithm is pinned by configuration (HS256 or ES256) and
 * never read from the token. Verified tokens are remembered until their `exp` so the hot path does no crypto twice.
 */
@Injectable()
export class BearerTokenService {
  /**
   * Verified claims by the token's SHA-256, not by the token: a bearer is about 600 characters and its claims repeat
   * the same issuer, audience and scope in every token, so keying by the digest and sharing those strings takes an
   * entry from about 1.2 KB to about 0.4 KB (issue 14, target 5: memory per live session). The digest is as good a
   * key as the token: finding a second token with a cached token's digest is a SHA-256 second preimage.
   */
  private readonly verified = growingLru<string, BearerClaims>({ max: VERIFIED_CACHE_MAX });
  /**
   * The tokens verified most recently, by the token itself, in front of `verified`: the SHA-256 of a 600-character
   * token was about 3% of GET /auth/session's CPU (issue 14, target 1), and a client sends the same token call after
   * call. Exact string equality, so no digest is needed; bounded and started over when full, so its memory does not
   * grow with the number of sessions (target 5).
   */
  private readonly recent = new Map<string, BearerClaims>();
  private readonly shared = new LRUCache<string, string>({ max: SHARED_STRINGS_MAX });
  private readonly algorithm: 'HS256' | 'ES256';
  private readonly verifyKey: string | KeyObject;
  private readonly signKey: string | KeyObject;
  /** The `kid` header of the tokens this replica signs (see keyId). */
  private readonly signKid: string;
  /**
   * Every key a token may be verified with, by kid: the signing key's, then JWT_ACCEPTED_SECRETS' or
   * JWT_ACCEPTED_PUBLIC_KEYS' (the rotation's overlap). Size 1 when nothing else is accepted: then verification does
   * exactly the work it did before kids existed (no header read, one key).
   */
  private readonly keysByKid = new Map<string, string | KeyObject>();
  private readonly audiences: Array<string | RegExp>;

  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly resources: ProtectedResources,
  ) {
    const j = config.values.jwt;
    this.algorithm = j.algorithm;
    // The HS256 secret as a KeyObject, not a string: jsonwebtoken first tries a string as a PEM key and builds a
    // secret key only after that throws, about 1 ms per sign or verify on these machines (npm run bench, baselines).
    const secretKey = j.algorithm === 'HS256' ? createSecretKey(Buffer.from(j.secret as string)) : undefined;
    this.signKey = secretKey ?? (j.privateKey as string);
    this.verifyKey = secretKey ?? (createPublicKey(j.privateKey as string).export({ type: 'spki', format: 'pem' }) as string);
    this.signKid = keyId(this.algorithm, j.algorithm === 'HS256' ? (j.secret as string) : (this.verifyKey as string));
    this.keysByKid.set(this.signKid, this.verifyKey);
    // Accepted keys as KeyObjects too (see above); a key listed twice, or the signing key listed again, counts once.
    for (const secret of j.algorithm === 'HS256' ? (j.acceptedSecrets ?? []) : []) {
      const kid = keyId('HS256', secret);
      if (!this.keysByKid.has(kid)) this.keysByKid.set(kid, createSecretKey(Buffer.from(secret)));
    }
    for (const pem of j.algorithm === 'ES256' ? (j.acceptedPublicKeys ?? []) : []) {
      const kid = keyId('ES256', pem);
      if (!this.keysByKid.has(kid)) this.keysByKid.set(kid, createPublicKey(pem));
    }
    // JWT_AUDIENCE, or an RFC 8707 resource of this service (its public URL or a path below it).
    const base = config.values.publicUrl;
    this.audiences = [j.audience, base, new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`)];
  }

  /** Signs a bearer token for a session; it expires with the session at the latest. */
  async issue(session: Session, options: IssueOptions = {}): Promise<IssuedToken & { scope: string }> {
    const j = this.config.values.jwt;
    const now = Math.floor(Date.now() / 1000);
    const exp = Math.min(now + j.ttlSeconds, Math.floor(session.expiresAtMs / 1000));
    const scope = this.resources.known(options.scopes ?? []).join(' ');
    const accessToken = await this.jwt.signAsync(
      { sub: session.email, email: session.email, sid: session.sessionId, iat: now, exp, jti: randomUUID(), scope, ...(options.clientId ? { client_id: options.clientId } : {}) },
      // @nestjs/jwt types `secret` as string | Buffer; jsonwebtoken takes a KeyObject too.
      // keyid: the `kid` header, by which a replica that accepts several keys (a rotation under way) picks the one to check.
      { algorithm: this.algorithm, secret: this.signKey as string, keyid: this.signKid, issuer: j.issuer, audience: options.audience ?? j.audience },
    );
    return { accessToken, expiresIn: exp - now, scope };
  }

  /** The claims of a valid token, or undefined for anything forged, expired, or meant for someone else. */
  verify(token: string): BearerClaims | undefined {
    const now = Date.now() / 1000;
    const recent = this.recent.get(token);
    if (recent) return recent.exp > now ? recent : undefined;
    const key = hash('sha256', token, 'base64url');
    let claims = this.verified.get(key);
    if (!claims) {
      const verified = this.verifySignature(token, false);
      if (!verified) return undefined;
      claims = this.compact(verified);
      this.verified.set(key, claims, { ttl: Math.max(1, Math.ceil((claims.exp - now) * 1000)) });
    }
    if (this.recent.size >= RECENT_TOKENS_MAX) this.recent.clear();
    this.recent.set(token, claims);
    return claims.exp > now ? claims : undefined;
  }

  /** Signature, issuer and audience checked, expiry ignored: revocation accepts expired tokens (idempotent). */
  verifyIgnoringExpiry(token: string): BearerClaims | undefined {
    return this.verify(token) ?? this.verifySignature(token, true);
  }

  /**
   * The public keys as JWKs for /.well-known/jwks.json, when tokens are ES256 (undefined for HS256): the signing key
   * first, then JWT_ACCEPTED_PUBLIC_KEYS, so a resource server verifying tokens itself accepts what this service does
   * during a rotation (tokens of the next key before it signs, of the previous one until they expire).
   */
  publicJwks(): Array<Record<string, string>> | undefined {
    if (this.algorithm !== 'ES256') return undefined;
    return [...this.keysByKid].map(([kid, key]) => {
      const publicKey = typeof key === 'string' ? createPublicKey(key) : key;
      return { ...(publicKey.export({ format: 'jwk' }) as Record<string, string>), alg: 'ES256', use: 'sig', kid };
    });
  }

  /** Seconds a bearer lives by default (the session lifetime). */
  get ttlSeconds(): number {
    return this.config.values.jwt.ttlSeconds;
  }

  /** The claims with the strings many tokens repeat shared with earlier tokens (same values, less memory). */
  private compact(claims: BearerClaims): BearerClaims {
    const share = <T>(value: T): T => {
      if (typeof value !== 'string') return value;
      const known = this.shared.get(value);
      if (known !== undefined) return known as T;
      this.shared.set(value, value);
      return value;
    };
    // sub and email are checked equal: one string serves both.
    const compact: BearerClaims = { ...claims, iss: share(claims.iss), aud: share(claims.aud), email: claims.sub, scope: share(claims.scope) };
    if (claims.client_id !== undefined) compact.client_id = share(claims.client_id);
    return compact;
  }

  private verifySignature(token: string, ignoreExpiration: boolean): BearerClaims | undefined {
    // One key (no rotation under way): checked as before kids existed, whatever the header says.
    if (this.keysByKid.size === 1) return this.verifyWith(this.verifyKey, token, ignoreExpiration);
    const kid = headerKid(token);
    if (kid === null) return undefined; // not a JWT
    if (kid !== undefined) {
      // The key is chosen by kid, the algorithm stays pinned (verifyWith). An unknown kid is a key not accepted
      // (any more): refused, not tried against the others.
      const key = this.keysByKid.get(kid);
      return key === undefined ? undefined : this.verifyWith(key, token, ignoreExpiration);
    }
    // No kid: issued before tokens carried one. Tried with each accepted key, the signing key first, so the upgrade
    // that introduced kids logs no one out; a bad signature moves on to the next key, anything else ends the search.
    for (const key of this.keysByKid.values()) {
      const claims = this.verifyWith(key, token, ignoreExpiration, true);
      if (claims !== 'bad-signature') return claims;
    }
    return undefined;
  }

  private verifyWith(key: string | KeyObject, token: string, ignoreExpiration: boolean, tellBadSignature?: false): BearerClaims | undefined;
  private verifyWith(key: string | KeyObject, token: string, ignoreExpiration: boolean, tellBadSignature: true): BearerClaims | undefined | 'bad-signature';
  private verifyWith(key: string | KeyObject, token: string, ignoreExpiration: boolean, tellBadSignature = false): BearerClaims | undefined | 'bad-signature' {
    const j = this.config.values.jwt;
    try {
      const claims = this.jwt.verify<BearerClaims>(token, {
        algorithms: [this.algorithm],
        secret: key as string, // a KeyObject for HS256 and for accepted keys (see the constructor)
        issuer: j.issuer,
        audience: this.audiences,
        ignoreExpiration,
      } as never);
      const ok =
        typeof claims.sub === 'string' &&
        claims.sub === claims.email &&
        typeof claims.sid === 'string' &&
        typeof claims.exp === 'number' &&
        typeof claims.jti === 'string';
      return ok ? claims : undefined;
    } catch (err) {
      return tellBadSignature && (err as Error).message === 'invalid signature' ? 'bad-signature' : undefined;
    }
  }
}

/**
 * The `kid` of a key: for ES256 the JWK thumbprint-like id /.well-known/jwks.json has always published (SHA-256 of the
 * public JWK, 16 characters); for HS256 a one-way hash of the secret under a label of its own, which names the secret
 * without revealing anything of it (the secret is at least 32 bytes, so it cannot be guessed from its hash either).
 */
export function keyId(algorithm: 'HS256' | 'ES256', key: string): string {
  if (algorithm === 'HS256') return createHash('sha256').update('workspace-broker-jwt-kid\0').update(key).digest('base64url').slice(0, 16);
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as Record<string, string>;
  return createHash('sha256').update(JSON.stringify(jwk)).digest('base64url').slice(0, 16);
}

/** The token's `kid` header: undefined when it has none, null when the token is not a readable JWT. */
function headerKid(token: string): string | undefined | null {
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null) return null;
    const kid = (header as { kid?: unknown }).kid;
    return kid === undefined ? undefined : typeof kid === 'string' ? kid : null;
  } catch {
    return null;
  }
}
