import { JwtService } from '@nestjs/jwt';
import { createHash, createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The claims the service puts in a browser sign-in's bearer (read from a real one), minus the per-session ones. */
export interface TokenShape {
  iss: string;
  aud: string;
  scope: string;
  /** exp - iat of the real token: the session lifetime. */
  lifetimeSeconds: number;
}

/** A seeded user: their session id and a bearer the service accepts for it. */
export interface SeededUser {
  email: string;
  sessionId: string;
  token: string;
}

/**
 * Objects in the S3 server's own storage layout (s3rver's FilesystemStore: `<key>._S3rver_object`, its `.md5` and
 * `._S3rver_metadata.json`), written straight into the bucket's folder. The S3 server reads that folder on every
 * request, so what is written here is what a GET returns; the metadata (content type, the server-side encryption
 * the service asked for) is copied from objects the service itself wrote during a real sign-in.
 */
export class BucketSeeder {
  private readonly sessionMeta: string;
  private readonly indexMeta: string;
  private readonly credentialsMeta: string;
  private readonly credentialsTemplate: Record<string, unknown>;

  /** `template` is a user who signed in for real: their objects give the formats. */
  constructor(
    private readonly bucketDir: string,
    template: { email: string; sessionId: string },
  ) {
    const meta = (key: string) => readFileSync(this.path(key, 'metadata.json'), 'utf8');
    this.sessionMeta = meta(`sessions/${template.sessionId}.json`);
    this.indexMeta = meta(`sessions/by-user/${template.email}/${template.sessionId}`);
    this.credentialsMeta = meta(`credentials/${template.email}.json`);
    this.credentialsTemplate = JSON.parse(readFileSync(this.path(`credentials/${template.email}.json`, 'object'), 'utf8')) as Record<string, unknown>;
  }

  /** A session document as SessionStore.create writes it, and its per-user index entry. */
  writeSession(email: string, sessionId: string, createdAt: Date, expiresAt: Date): void {
    const doc = { version: 1, session_id: sessionId, email, created_at: createdAt.toISOString(), expires_at: expiresAt.toISOString() };
    this.write(`sessions/${sessionId}.json`, JSON.stringify(doc), this.sessionMeta);
    this.write(`sessions/by-user/${email}/${sessionId}`, JSON.stringify({ session_id: sessionId }), this.indexMeta);
  }

  /** Credentials as a sign-in stores them (the template user's fields, this user's email and tokens). */
  writeCredentials(email: string, now: Date): void {
    const doc = {
      ...this.credentialsTemplate,
      email,
      token: `ya29.bench-${randomBytes(24).toString('base64url')}`,
      refresh_token: `1//bench-${randomBytes(24).toString('base64url')}`,
      expiry: new Date(now.getTime() + 3600_000).toISOString(),
      updated_at: now.toISOString(),
    };
    this.write(`credentials/${email}.json`, JSON.stringify(doc), this.credentialsMeta);
  }

  private path(key: string, resource: string): string {
    const parts = key.split('/');
    const name = parts.pop() as string;
    return join(this.bucketDir, ...parts, `${name}._S3rver_${resource}`);
  }

  // Synchronous on purpose: for many small files it is several times faster than fs/promises (no thread-pool
  // round trips), and nothing else runs in the bench process while it seeds.
  private write(key: string, body: string, metadata: string): void {
    const objectPath = this.path(key, 'object');
    mkdirSync(dirname(objectPath), { recursive: true });
    writeFileSync(objectPath, body);
    writeFileSync(`${objectPath}.md5`, createHash('md5').update(body).digest('hex'));
    writeFileSync(this.path(key, 'metadata.json'), metadata);
  }
}

/** Signs bearers with the service's JWT secret and exactly the claims the service issues (see BearerTokenService.issue). */
export class TokenMinter {
  private readonly jwt = new JwtService({});
  private readonly key: KeyObject;

  constructor(
    secret: string,
    readonly shape: TokenShape,
  ) {
    this.key = createSecretKey(Buffer.from(secret));
  }

  /** The shape of a real bearer: issuer, audience, scope and lifetime. */
  static shapeOf(realToken: string): TokenShape {
    const c = JSON.parse(Buffer.from(realToken.split('.')[1], 'base64url').toString()) as { iss: string; aud: string; scope?: string; iat: number; exp: number };
    return { iss: c.iss, aud: c.aud, scope: c.scope ?? '', lifetimeSeconds: c.exp - c.iat };
  }

  /** A bearer for this session, expiring with it at the latest. */
  mint(email: string, sessionId: string, expiresAt: Date): string {
    const iat = Math.floor(Date.now() / 1000);
    const exp = Math.min(iat + this.shape.lifetimeSeconds, Math.floor(expiresAt.getTime() / 1000));
    return this.jwt.sign(
      { sub: email, email, sid: sessionId, iat, exp, jti: randomUUID(), scope: this.shape.scope },
      { algorithm: 'HS256', secret: this.key as unknown as string, issuer: this.shape.iss, audience: this.shape.aud },
    );
  }
}

/** A fresh session id as the service makes them (32 random bytes, base64url). */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** Seeds `count` users, each with credentials, one live session and its index entry (three objects each). */
export function seedUsers(seeder: BucketSeeder, minter: TokenMinter, count: number): { users: SeededUser[]; seconds: number } {
  const started = performance.now();
  const now = new Date();
  const expiresAt = new Date(now.getTime() + minter.shape.lifetimeSeconds * 1000);
  const users: SeededUser[] = Array.from({ length: count }, (_, i) => {
    const email = `user${i}@bench.example.com`;
    const sessionId = newSessionId();
    return { email, sessionId, token: minter.mint(email, sessionId, expiresAt) };
  });
  for (const u of users) {
    seeder.writeCredentials(u.email, now);
    seeder.writeSession(u.email, u.sessionId, now, expiresAt);
  }
  return { users, seconds: (performance.now() - started) / 1000 };
}

/** Creates the folders once so the writers do not race on mkdir. */
export function prepareBucketDir(bucketDir: string): void {
  mkdirSync(join(bucketDir, 'sessions', 'by-user'), { recursive: true });
  mkdirSync(join(bucketDir, 'credentials'), { recursive: true });
}
