import type { AppConfig } from '../../src/config/app-config.js';
import { AccessTokenHistory } from '../../src/credentials/access-token-history.js';
import { ReauthRequiredError } from '../../src/credentials/credentials.errors.js';
import { CredentialsRepository } from '../../src/credentials/credentials.repository.js';
import { CredentialsService } from '../../src/credentials/credentials.service.js';
import { CurrentGrant } from '../../src/credentials/current-grant.js';
import { DeadGrantGrace } from '../../src/credentials/dead-grant-grace.js';
import { GoogleClientCache } from '../../src/credentials/google-client.cache.js';
import type { GoogleTokenClient, RefreshedToken } from '../../src/credentials/google-token.client.js';
import { GrantRefresh } from '../../src/credentials/grant-refresh.js';
import { KnownCredentials } from '../../src/credentials/known-credentials.js';
import { RefreshedGrantWriter } from '../../src/credentials/refreshed-grant-writer.js';
import { RefreshWriteBack } from '../../src/credentials/refresh-write-back.js';
import { RevocationFence } from '../../src/credentials/revocation-fence.js';
import { RevocationMarks } from '../../src/credentials/revocation-marks.js';
import { RevocationWatermarks } from '../../src/credentials/revocation-watermarks.js';
import { AuditLog } from '../../src/observability/audit-log.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { JsonObjectRepository, PutCondition, StoredJson } from '../../src/storage/json-object.repository.js';
import { StorageError } from '../../src/storage/storage.errors.js';

export const EMAIL = 'ann@example.com';
export const KEY = `credentials/${EMAIL}.json`;

/** S3 in memory: ETags, If-Match / If-None-Match on put, If-Match on delete, and hooks to fail or race a call. */
export class MemoryObjects {
  readonly objects = new Map<string, { value: unknown; etag: string }>();
  private version = 0;
  /** Runs before a put is applied; throw to make the put fail. */
  beforePut?: (key: string) => void | Promise<void>;
  /** Runs before a delete is applied (another writer may write here). */
  beforeDelete?: (key: string) => void;

  async get(key: string): Promise<StoredJson | undefined> {
    const o = this.objects.get(key);
    return o ? { value: structuredClone(o.value), etag: o.etag } : undefined;
  }
  async getForReplace(key: string): Promise<StoredJson | undefined> {
    return this.get(key);
  }
  async put(key: string, value: unknown, condition: PutCondition = {}): Promise<string> {
    const held = this.beforePut?.(key); // a put with nothing to wait for applies at once, as the race tests need
    if (held) await held;
    const current = this.objects.get(key);
    if (condition.ifNoneMatch && current) throw new StorageError('conflict', 'exists');
    if (condition.ifMatch && current?.etag !== condition.ifMatch) throw new StorageError('conflict', 'changed');
    const etag = `"v${++this.version}"`;
    this.objects.set(key, { value: structuredClone(value), etag });
    return etag;
  }
  async delete(key: string, condition: { ifMatch?: string } = {}): Promise<void> {
    this.beforeDelete?.(key);
    const current = this.objects.get(key);
    if (condition.ifMatch && current && current.etag !== condition.ifMatch) throw new StorageError('conflict', 'changed');
    this.objects.delete(key);
  }
  /** The credentials object of EMAIL as stored, if any. */
  stored(): Record<string, unknown> | undefined {
    return this.objects.get(KEY)?.value as Record<string, unknown> | undefined;
  }
}

/** Google's token endpoint with rotation: each refresh token works once and names its successor. */
export class RotatingGoogle {
  readonly live = new Set<string>();
  readonly calls: string[] = [];
  private n = 0;
  /** Runs when a refresh arrives, before Google decides (another replica may act here). */
  onRefresh?: (refreshToken: string) => void | Promise<void>;
  /** Tokens sent to the revocation endpoint, in order. */
  readonly revoked: string[] = [];
  /** Off: Google keeps the refresh token and answers without one. */
  rotates = true;

  async revoke(token: string): Promise<'revoked' | 'unknown'> {
    this.revoked.push(token);
    return this.live.delete(token) ? 'revoked' : 'unknown';
  }

  async refresh(refreshToken: string): Promise<RefreshedToken> {
    this.calls.push(refreshToken);
    await this.onRefresh?.(refreshToken);
    if (!this.live.has(refreshToken)) throw new ReauthRequiredError("Google no longer accepts this user's grant (revoked or expired).");
    if (!this.rotates) return { accessToken: `at-${++this.n}`, expiresAt: new Date(Date.now() + 3600_000) };
    this.live.delete(refreshToken);
    const next = `rt-${++this.n}`;
    this.live.add(next);
    return { accessToken: `at-${this.n}`, expiresAt: new Date(Date.now() + 3600_000), refreshToken: next };
  }
}

/** EMAIL's credentials object as S3 holds it, with an access token expiring `expiresInMs` from now. */
export function document(refreshToken: string, token: string, expiresInMs: number) {
  return { version: 1, email: EMAIL, token, refresh_token: refreshToken, token_uri: 'https://oauth2.googleapis.com/token', client_id: 'client', scopes: ['openid'], expiry: new Date(Date.now() + expiresInMs).toISOString(), updated_at: new Date().toISOString() };
}

/** Resolves once `fn` is true, polling every 10 ms; rejects after `limitMs`. */
export async function until(fn: () => boolean, limitMs = 3000): Promise<void> {
  const started = Date.now();
  while (!fn()) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The credentials module wired as CredentialsModule wires it, on MemoryObjects and RotatingGoogle. */
export interface CredentialsInMemory {
  objects: MemoryObjects;
  google: RotatingGoogle;
  marks: RevocationMarks;
  writeBack: RefreshWriteBack;
  sut: CredentialsService;
}

/**
 * A CredentialsService on in-memory S3 and Google, with EMAIL signed in: S3 holds refresh token rt-0 (live at Google)
 * and an expired access token, so the next use refreshes. S3_TIMEOUT_MS is 100: the grace for a rotation winner is
 * 1.1 s. A test ends with `writeBack.onApplicationShutdown()`, so no background write outlives it.
 */
export async function credentialsInMemory(): Promise<CredentialsInMemory> {
  const objects = new MemoryObjects();
  const google = new RotatingGoogle();
  const config = { values: { s3: { credentialsPrefix: 'credentials/', sessionPrefix: 'sessions/', timeoutMs: 100 }, google: { clientId: 'client', clientCacheMax: 100, clientCacheTtlMs: 60_000, httpTimeoutMs: 100 } } } as unknown as AppConfig;
  const s3 = objects as unknown as JsonObjectRepository;
  const tokenClient = google as unknown as GoogleTokenClient;
  const repository = new CredentialsRepository(s3, config);
  const marks = new RevocationMarks(s3, config);
  const fence = new RevocationFence(marks, new RevocationWatermarks(s3, config), tokenClient, repository);
  const writeBack = new RefreshWriteBack(repository, fence, config);
  const grants = new CurrentGrant(repository, writeBack);
  const known = new KnownCredentials(grants, new GoogleClientCache(config), writeBack, config);
  const tokens = new AccessTokenHistory();
  const audit = new AuditLog();
  const metrics = new Metrics();
  const writer = new RefreshedGrantWriter(repository, known, tokens, writeBack, fence, audit, metrics);
  const grantRefresh = new GrantRefresh(grants, new DeadGrantGrace(grants, config), known, tokens, writer, writeBack, repository, tokenClient, audit, metrics);
  const sut = new CredentialsService(repository, known, grantRefresh, writer, writeBack, tokens);
  google.live.add('rt-0');
  await objects.put(KEY, document('rt-0', 'at-0', -1000)); // access token expired: the next use refreshes
  return { objects, google, marks, writeBack, sut };
}
