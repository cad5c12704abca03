import { Injectable } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { hashSecret } from './oauth-client.js';

/** A chain of rotated refresh tokens from one authorization; only SHA-256 hashes of tokens are stored. */
export interface RefreshFamily {
  familyId: string;
  clientId: string;
  email: string;
  /** The session its tokens belong to; '' in the revoked placeholder a replayed code leaves (see revokeForReplayedCode). */
  sessionId: string;
  resource?: string;
  scope?: string;
  current: string;
  /** Hashes of tokens already rotated away: presenting one again is reuse. */
  previous: string[];
  /** The last rotation: which token it spent, and when (ms), for the reuse grace window. */
  lastRotation?: { from: string; at: number };
  createdAt: string;
  expiresAt: number;
  revokedAt?: string;
}

export type RotationResult =
  | { status: 'rotated'; token: string; family: RefreshFamily; /** a retry inside the grace window */ retried: boolean }
  | { status: 'reused'; family: RefreshFamily }
  | { status: 'invalid' };

/**
 * How starting a family went: its first token; `resumed` when an earlier attempt of the same exchange (answered 503,
 * its code given back) had written the family, bound to that attempt's session; or `revoked` when a replay of its
 * code took the key first.
 */
export type FamilyStart = { status: 'created'; token: string } | { status: 'resumed'; token: string; sessionId: string } | { status: 'revoked' };

const MAX_PREVIOUS = 50;

/**
 * Refresh tokens with rotation (OAuth 2.1): each use returns a new token; presenting an old one again revokes the
 * whole family. Stored under `{OAUTH_PREFIX}refresh/{familyId}.json`, updated with If-Match, shared by replicas.
 *
 * Grace window: a client that lost the answer to a refresh, or sent it twice at once, presents the token that was
 * just rotated away. Within OAUTH_REFRESH_REUSE_GRACE_SECONDS it gets the same successor again. The successor is
 * derived from the spent token (HMAC with the server's key), so any replica can answer it without the bucket ever
 * holding a usable token; the loser of a concurrent rotation re-reads and finds its own successor already current.
 */
@Injectable()
export class RefreshTokenFamilies {
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly graceMs: number;
  private readonly successorKey: Buffer;
  /**
   * The successor keys of the accepted JWT keys (JWT_ACCEPTED_SECRETS / JWT_ACCEPTED_PUBLIC_KEYS): while the signing
   * key is rotated, a family rotated by a replica on the other key holds a successor derived with that key, and a
   * retry reaching this replica must still find it (or it would look like reuse and revoke the family).
   */
  private readonly acceptedSuccessorKeys: Buffer[];

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}refresh/`;
    this.ttlSeconds = config.values.oauth.refreshTokenTtlSeconds;
    this.graceMs = config.values.oauth.refreshReuseGraceSeconds * 1000;
    this.successorKey = successorKeyOf(config.values.oauth.sealKey);
    this.acceptedSuccessorKeys = (config.values.oauth.acceptedSealKeys ?? []).map(successorKeyOf);
  }

  /** Lifetime of a family, in seconds (its session lives as long). */
  get lifetimeSeconds(): number {
    return this.ttlSeconds;
  }

  /**
   * Starts a family and returns its first refresh token, or `revoked` when the family's key already holds a revoked
   * family: a replay of the code revoked it (or left a placeholder) before or while this write landed.
   */
  async create(input: Pick<RefreshFamily, 'familyId' | 'clientId' | 'email' | 'sessionId' | 'resource' | 'scope'>): Promise<FamilyStart> {
    // Derived, not random, like a successor: a retry of an exchange whose family write landed but whose answer was
    // lost finds the same first token in S3 and can answer it (only the family's own code, redeemed again, gets here).
    const secret = this.successorOf(input.familyId, 'first');
    const family: RefreshFamily = { ...input, current: hashSecret(secret), previous: [], createdAt: new Date().toISOString(), expiresAt: Date.now() + this.ttlSeconds * 1000 };
    const key = this.key(input.familyId);
    const token = `${input.familyId}.${secret}`;
    try {
      await this.objects.put(key, family, { ifNoneMatch: '*' });
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'conflict')) throw err;
      const stored = (await this.objects.get(key))?.value as RefreshFamily | undefined;
      // Revoked: the placeholder of a replay, or this very write (applied, answer lost) revoked since by a replay.
      if (stored?.revokedAt) return { status: 'revoked' };
      // Otherwise only a family this exchange started, not yet rotated: this write's own (the SDK's retry met it), or
      // an earlier attempt's whose answer was a 503 (its session is the grant's).
      // The first token may have been derived by a replica on another accepted key (a rotation under way).
      const storedSecret = stored && stored.current !== family.current ? this.acceptedSuccessorMatching(input.familyId, 'first', stored.current) : secret;
      if (!stored || storedSecret === undefined || stored.clientId !== family.clientId || stored.previous.length > 0) throw err;
      const storedToken = `${input.familyId}.${storedSecret}`;
      return stored.sessionId !== family.sessionId ? { status: 'resumed', token: storedToken, sessionId: stored.sessionId } : { status: 'created', token: storedToken };
    }
    return { status: 'created', token };
  }

  /** Exchanges the current token of a family for its successor; detects reuse of rotated tokens. */
  async rotate(token: string, clientId: string, beforeRotating?: (family: RefreshFamily) => Promise<void>): Promise<RotationResult> {
    /** When this call's own rotation write was sent: its `lastRotation.at`, by which a re-read recognises it. */
    let wroteAt: number | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await this.load(token);
      if (!found || found.family.clientId !== clientId || found.family.revokedAt || found.family.expiresAt < Date.now()) return { status: 'invalid' };
      const { family, etag, hash, familyId, secret } = found;
      const successor = this.successorOf(familyId, secret);
      const last = family.lastRotation;
      if (wroteAt !== undefined && last?.from === hash && last.at === wroteAt && family.current === hashSecret(successor)) {
        // This call's own write, applied by S3 though its answer was lost (the SDK's retry then met a changed ETag):
        // not a reuse, whatever the grace window (with none, it used to revoke the family of a client that did
        // nothing wrong).
        return { status: 'rotated', token: `${familyId}.${successor}`, family, retried: false };
      }
      if (last?.from === hash && Date.now() - last.at <= this.graceMs) {
        // Rotated by this replica's key, or (a rotation of the signing key under way) by another replica's.
        const given = family.current === hashSecret(successor) ? successor : this.acceptedSuccessorMatching(familyId, secret, family.current);
        if (given !== undefined) return { status: 'rotated', token: `${familyId}.${given}`, family, retried: true };
      }
      if (family.previous.includes(hash)) return { status: 'reused', family };
      if (family.current !== hash) return { status: 'invalid' };
      // The caller's checks that may fail (S3 down: 503) run before the token is rotated away: after it, the
      // client's retry with the same token is reuse once the grace window has passed, and revokes a good family.
      if (beforeRotating) await beforeRotating(family);
      wroteAt = Date.now();
      const next: RefreshFamily = { ...family, current: hashSecret(successor), previous: [hash, ...family.previous].slice(0, MAX_PREVIOUS), lastRotation: { from: hash, at: wroteAt } };
      try {
        await this.objects.put(this.key(familyId), next, { ifMatch: etag });
        return { status: 'rotated', token: `${familyId}.${successor}`, family: next, retried: false };
      } catch (err) {
        // Another request rotated this family first: read again (it may have been this very token, a retry).
        if (!(err instanceof StorageError && err.code === 'conflict')) throw err;
      }
    }
    throw new StorageError('conflict', 'The refresh token family kept changing while being rotated; retry the refresh.');
  }

  /**
   * The family a token belongs to, and whether it is the current token; undefined unless the family issued this very
   * token (its current one, or one rotated away). The family id alone is no credential: it is the token's first half
   * and the S3 key (`{OAUTH_PREFIX}refresh/{familyId}.json`), so whoever sees the bucket's listing, its access logs or
   * CloudTrail knows it. Before, any secret after a known family id revoked the family at /oauth/revoke (a public
   * client's id is public), and a refresh naming `resource` or `scope` was told the grant's resource.
   */
  async find(token: string): Promise<{ family: RefreshFamily; current: boolean } | undefined> {
    const found = await this.load(token);
    if (!found || (found.family.current !== found.hash && !found.family.previous.includes(found.hash))) return undefined;
    return { family: found.family, current: found.family.current === found.hash };
  }

  /** Marks a family revoked (idempotent); returns it, or undefined when unknown. */
  async revoke(familyId: string): Promise<RefreshFamily | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.objects.get(this.key(familyId));
      if (!stored) return undefined;
      const family = stored.value as RefreshFamily;
      if (family.revokedAt) return family;
      try {
        const revoked = { ...family, revokedAt: new Date().toISOString() };
        await this.objects.put(this.key(familyId), revoked, { ifMatch: stored.etag });
        return revoked;
      } catch (err) {
        if (!(err instanceof StorageError && err.code === 'conflict')) throw err;
      }
    }
    throw new StorageError('conflict', 'The refresh token family kept changing while being revoked; retry.');
  }

  /**
   * Revokes the family a replayed authorization code started, whether or not its exchange has created it yet. When
   * it has not, a revoked placeholder takes the key create-only, so the exchange's own create-only write fails and
   * it issues nothing; when that placeholder write loses (the exchange's family landed first, or it is this write's
   * own retry after a lost answer), the family is read again and revoked. Returns the family as revoked.
   */
  async revokeForReplayedCode(owner: Pick<RefreshFamily, 'familyId' | 'clientId' | 'email'>): Promise<RefreshFamily> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const revoked = await this.revoke(owner.familyId);
      if (revoked) return revoked;
      const now = new Date();
      const placeholder: RefreshFamily = { ...owner, sessionId: '', current: '', previous: [], createdAt: now.toISOString(), expiresAt: now.getTime() + this.ttlSeconds * 1000, revokedAt: now.toISOString() };
      try {
        await this.objects.put(this.key(owner.familyId), placeholder, { ifNoneMatch: '*' });
        return placeholder;
      } catch (err) {
        if (!(err instanceof StorageError && err.code === 'conflict')) throw err;
      }
    }
    throw new StorageError('conflict', 'The refresh token family kept changing while being revoked; retry.');
  }

  private async load(token: string): Promise<{ family: RefreshFamily; etag: string; hash: string; familyId: string; secret: string } | undefined> {
    const m = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return undefined;
    const stored = await this.objects.get(this.key(m[1]));
    return stored ? { family: stored.value as RefreshFamily, etag: stored.etag, hash: hashSecret(m[2]), familyId: m[1], secret: m[2] } : undefined;
  }

  /** The token that follows `secret` in its family: the same on every replica, unknowable without the server key. */
  private successorOf(familyId: string, secret: string): string {
    return createHmac('sha256', this.successorKey).update(`${familyId}.${secret}`).digest('base64url');
  }

  /** The successor of `secret` under an accepted key whose hash is `current`, if one is. */
  private acceptedSuccessorMatching(familyId: string, secret: string, current: string): string | undefined {
    for (const key of this.acceptedSuccessorKeys) {
      const successor = createHmac('sha256', key).update(`${familyId}.${secret}`).digest('base64url');
      if (hashSecret(successor) === current) return successor;
    }
    return undefined;
  }

  private key(familyId: string): string {
    return `${this.prefix}${familyId}.json`;
  }
}

/** The key successors are derived with, from a seal key (the current one, or an accepted one's). */
function successorKeyOf(sealKey: Buffer): Buffer {
  return createHmac('sha256', sealKey).update('refresh-token-successor').digest();
}
