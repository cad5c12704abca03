import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { hashSecret } from './oauth-client.js';

/** A chain of rotated refresh tokens from one authorization; only SHA-256 hashes of tokens are stored. */
export interface RefreshFamily {
  familyId: string;
  clientId: string;
  email: string;
  sessionId: string;
  resource?: string;
  scope?: string;
  current: string;
  /** Hashes of tokens already rotated away: presenting one again is reuse. */
  previous: string[];
  createdAt: string;
  expiresAt: number;
  revokedAt?: string;
}

export type RotationResult =
  | { status: 'rotated'; token: string; family: RefreshFamily }
  | { status: 'reused'; family: RefreshFamily }
  | { status: 'invalid' };

const MAX_PREVIOUS = 50;

/**
 * Refresh tokens with rotation (OAuth 2.1): each use returns a new token; presenting an old one again revokes the
 * whole family. Stored under `{OAUTH_PREFIX}refresh/{familyId}.json`, updated with If-Match, shared by replicas.
 */
@Injectable()
export class RefreshTokenFamilies {
  private readonly prefix: string;
  private readonly ttlSeconds: number;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}refresh/`;
    this.ttlSeconds = config.values.oauth.refreshTokenTtlSeconds;
  }

  /** Lifetime of a family, in seconds (its session lives as long). */
  get lifetimeSeconds(): number {
    return this.ttlSeconds;
  }

  /** Starts a family and returns its first refresh token. */
  async create(input: Pick<RefreshFamily, 'familyId' | 'clientId' | 'email' | 'sessionId' | 'resource' | 'scope'>): Promise<string> {
    const secret = randomBytes(32).toString('base64url');
    const family: RefreshFamily = { ...input, current: hashSecret(secret), previous: [], createdAt: new Date().toISOString(), expiresAt: Date.now() + this.ttlSeconds * 1000 };
    await this.objects.put(this.key(input.familyId), family, { ifNoneMatch: '*' });
    return `${input.familyId}.${secret}`;
  }

  /** Exchanges the current token of a family for a new one; detects reuse of rotated tokens. */
  async rotate(token: string, clientId: string): Promise<RotationResult> {
    const found = await this.load(token);
    if (!found || found.family.clientId !== clientId || found.family.revokedAt || found.family.expiresAt < Date.now()) return { status: 'invalid' };
    const { family, etag, hash } = found;
    if (family.previous.includes(hash)) return { status: 'reused', family };
    if (family.current !== hash) return { status: 'invalid' };
    const secret = randomBytes(32).toString('base64url');
    const next: RefreshFamily = { ...family, current: hashSecret(secret), previous: [hash, ...family.previous].slice(0, MAX_PREVIOUS) };
    try {
      await this.objects.put(this.key(family.familyId), next, { ifMatch: etag });
    } catch (err) {
      // Another request rotated this token first: this one holds a spent token now.
      if (err instanceof StorageError && err.code === 'conflict') return { status: 'invalid' };
      throw err;
    }
    return { status: 'rotated', token: `${family.familyId}.${secret}`, family: next };
  }

  /** The family a token belongs to, and whether it is the current token. */
  async find(token: string): Promise<{ family: RefreshFamily; current: boolean } | undefined> {
    const found = await this.load(token);
    return found && { family: found.family, current: found.family.current === found.hash };
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

  private async load(token: string): Promise<{ family: RefreshFamily; etag: string; hash: string } | undefined> {
    const m = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return undefined;
    const stored = await this.objects.get(this.key(m[1]));
    return stored ? { family: stored.value as RefreshFamily, etag: stored.etag, hash: hashSecret(m[2]) } : undefined;
  }

  private key(familyId: string): string {
    return `${this.prefix}${familyId}.json`;
  }
}
