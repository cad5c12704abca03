import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { AuditLog } from '../observability/audit-log.js';
import { Metrics } from '../observability/metrics.js';
import type { JsonObjectRepository, PutCondition, StoredJson } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { CredentialsRepository } from './credentials.repository.js';
import { ReauthRequiredError } from './credentials.errors.js';
import { CredentialsService } from './credentials.service.js';
import { GoogleClientCache } from './google-client.cache.js';
import type { GoogleTokenClient, RefreshedToken } from './google-token.client.js';
import { RefreshWriteBack } from './refresh-write-back.js';
import { RevocationFence } from './revocation-fence.js';
import { grantFingerprint, RevocationMarks } from './revocation-marks.js';
import { RevocationWatermarks } from './revocation-watermarks.js';

const EMAIL = 'ann@example.com';
const KEY = `credentials/${EMAIL}.json`;

/** S3 in memory: ETags, If-Match / If-None-Match on put, If-Match on delete, and hooks to fail or race a call. */
class MemoryObjects {
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
  stored(): Record<string, unknown> | undefined {
    return this.objects.get(KEY)?.value as Record<string, unknown> | undefined;
  }
}

/** Google's token endpoint with rotation: each refresh token works once and names its successor. */
class RotatingGoogle {
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

function document(refreshToken: string, token: string, expiresInMs: number) {
  return { version: 1, email: EMAIL, token, refresh_token: refreshToken, token_uri: 'https://oauth2.googleapis.com/token', client_id: 'client', scopes: ['openid'], expiry: new Date(Date.now() + expiresInMs).toISOString(), updated_at: new Date().toISOString() };
}

async function until(fn: () => boolean, limitMs = 3000): Promise<void> {
  const started = Date.now();
  while (!fn()) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('CredentialsService: a refresh token is never lost', () => {
  let objects: MemoryObjects;
  let google: RotatingGoogle;
  let writeBack: RefreshWriteBack;
  let marks: RevocationMarks;
  let sut: CredentialsService;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => {
    objects = new MemoryObjects();
    google = new RotatingGoogle();
    // S3_TIMEOUT_MS 100: the grace for a rotation winner is 1.1 s here.
    const config = { values: { s3: { credentialsPrefix: 'credentials/', sessionPrefix: 'sessions/', timeoutMs: 100 }, google: { clientId: 'client', clientCacheMax: 100, clientCacheTtlMs: 60_000, httpTimeoutMs: 100 } } } as unknown as AppConfig;
    const repository = new CredentialsRepository(objects as unknown as JsonObjectRepository, config);
    marks = new RevocationMarks(objects as unknown as JsonObjectRepository, config);
    const fence = new RevocationFence(marks, new RevocationWatermarks(objects as unknown as JsonObjectRepository, config), google as unknown as GoogleTokenClient, repository);
    writeBack = new RefreshWriteBack(repository, fence, config);
    sut = new CredentialsService(repository, google as unknown as GoogleTokenClient, new GoogleClientCache(config), writeBack, fence, new AuditLog(), new Metrics(), config);
    google.live.add('rt-0');
    await objects.put(KEY, document('rt-0', 'at-0', -1000)); // access token expired: the next use refreshes
  });
  afterEach(() => writeBack.onApplicationShutdown());

  it("a user's concurrent first requests on a cold cache share one S3 read", async () => {
    await objects.put(KEY, document('rt-0', 'at-0', 3600_000)); // a good access token: no refresh involved
    const reads: string[] = [];
    const get = objects.get.bind(objects);
    objects.get = async (key: string) => {
      reads.push(key);
      return get(key);
    };
    const answers = await Promise.all([...Array.from({ length: 16 }, () => sut.findKnown(EMAIL)), ...Array.from({ length: 16 }, () => sut.getValid(EMAIL))]);
    expect(answers.map((c) => c?.token)).toEqual(Array(32).fill('at-0'));
    expect(reads).toEqual([KEY]);
    // Cached from then on; a user without credentials is read once per wave too, and is reauth_required.
    await sut.getValid(EMAIL);
    expect(reads).toEqual([KEY]);
    const missing = await Promise.allSettled(Array.from({ length: 8 }, () => sut.getValid('nobody@example.com')));
    expect(missing.every((r) => r.status === 'rejected' && r.reason instanceof ReauthRequiredError)).toBe(true);
    expect(reads.filter((k) => k.includes('nobody'))).toHaveLength(1);
  });

  it('refreshes from S3 and stores the rotated refresh token', async () => {
    const creds = await sut.getValid(EMAIL);
    expect(creds).toMatchObject({ token: 'at-1', refreshToken: 'rt-1' });
    expect(objects.stored()).toMatchObject({ token: 'at-1', refresh_token: 'rt-1' });
    expect(sut.refreshedHere('at-1')).toBe(true);
  });

  it('on invalid_grant takes the newer token another replica stored meanwhile, deleting nothing', async () => {
    google.onRefresh = async (rt) => {
      // Another replica wins the rotation race and stores its successor before Google answers us.
      if (rt === 'rt-0') {
        google.live.delete('rt-0');
        google.live.add('rt-other');
        await objects.put(KEY, document('rt-other', 'at-other', 3600_000));
      }
    };
    const creds = await sut.getValid(EMAIL);
    expect(creds).toMatchObject({ token: 'at-other', refreshToken: 'rt-other' });
    expect(google.calls).toEqual(['rt-0']); // the winner's access token was fresh: no second refresh
    expect(objects.stored()).toMatchObject({ refresh_token: 'rt-other' });
  });

  it('on invalid_grant refreshes with the newer stored refresh token when its access token has expired too', async () => {
    google.onRefresh = async (rt) => {
      if (rt === 'rt-0') {
        google.live.delete('rt-0');
        google.live.add('rt-other');
        await objects.put(KEY, document('rt-other', 'at-other', -1000));
      }
    };
    expect(await sut.getValid(EMAIL)).toMatchObject({ refreshToken: 'rt-1' });
    expect(google.calls).toEqual(['rt-0', 'rt-other']);
    expect(objects.stored()).toMatchObject({ refresh_token: 'rt-1' });
  });

  it('waits for a rotation winner whose write lands after the refusal, then takes its token', async () => {
    google.onRefresh = (rt) => {
      if (rt !== 'rt-0') return;
      google.live.delete('rt-0'); // the winner has the successor from Google but has not written it yet
      setTimeout(() => void objects.put(KEY, document('rt-late', 'at-late', 3600_000)), 400);
    };
    expect(await sut.getValid(EMAIL)).toMatchObject({ refreshToken: 'rt-late' });
    expect(objects.stored()).toMatchObject({ refresh_token: 'rt-late' });
  });

  it('a write landing between the last read and the delete is not deleted (If-Match on delete)', async () => {
    google.live.clear(); // the grant is dead as far as rt-0 goes
    let raced = false;
    objects.beforeDelete = () => {
      if (raced) return;
      raced = true;
      google.live.add('rt-new');
      void objects.put(KEY, document('rt-new', 'at-new', 3600_000)); // a new sign-in lands right now
    };
    expect(await sut.getValid(EMAIL)).toMatchObject({ refreshToken: 'rt-new', token: 'at-new' });
    expect(objects.stored()).toMatchObject({ refresh_token: 'rt-new' });
  });

  it('a dead grant is deleted and names when the failing refresh started (sessions created later stay)', async () => {
    google.live.clear();
    const before = Date.now();
    const err = await sut.getValid(EMAIL).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReauthRequiredError);
    const since = (err as ReauthRequiredError).sessionsBefore?.getTime() ?? 0;
    expect(since).toBeGreaterThanOrEqual(before);
    expect(since).toBeLessThan(before + 500); // the start of the refresh, not the end of the grace period
    expect(objects.stored()).toBeUndefined();
  });

  it('keeps a refreshed token S3 would not take, uses it for the next refresh, and writes it until it lands', async () => {
    let failing = true;
    let failedPuts = 0;
    objects.beforePut = () => {
      if (failing) {
        failedPuts++;
        throw new StorageError('network', 'S3 is unreachable');
      }
    };
    expect(await sut.getValid(EMAIL)).toMatchObject({ token: 'at-1', refreshToken: 'rt-1' });
    expect(objects.stored()).toMatchObject({ refresh_token: 'rt-0' }); // dead at Google, still in S3
    // The access token is rejected: the next refresh must use rt-1 from memory, not the dead rt-0 in S3.
    expect(await sut.refreshRejected(EMAIL, 'at-1')).toMatchObject({ token: 'at-2', refreshToken: 'rt-2' });
    expect(google.calls).toEqual(['rt-0', 'rt-1']);
    await until(() => failedPuts >= 3); // written again in the background
    failing = false;
    await until(() => objects.stored()?.refresh_token === 'rt-2');
    expect(writeBack.size).toBe(0);
  });

  it('a shutdown waits for a refresh under way (its request was cut by the drain) before its last write', async () => {
    let answer: (() => void) | undefined;
    google.onRefresh = () => new Promise<void>((resolve) => (answer = resolve)); // Google has not answered yet
    const call = sut.getValid(EMAIL);
    await until(() => answer !== undefined);
    const shutdown = writeBack.onApplicationShutdown();
    setTimeout(() => answer?.(), 20); // Google rotates and answers after the shutdown's last phase began
    await shutdown;
    // When the last phase ends (and the process exits), the token Google rotated is in S3.
    expect(objects.stored()).toMatchObject({ refresh_token: 'rt-1' });
    expect(google.live.has('rt-1')).toBe(true);
    await call;
  });

  it('a shutdown waits for the S3 write of a token Google issued, however close to S3_TIMEOUT_MS it runs', async () => {
    let answer: (() => void) | undefined;
    google.onRefresh = () => new Promise<void>((resolve) => (answer = resolve));
    objects.beforePut = () => new Promise((resolve) => setTimeout(resolve, 90)); // S3 slow, within its 100 ms bound
    const call = sut.getValid(EMAIL);
    await until(() => answer !== undefined);
    const shutdown = writeBack.onApplicationShutdown();
    setTimeout(() => answer?.(), 60); // Google answers late in the wait for refreshes under way
    await shutdown;
    expect(objects.stored()).toMatchObject({ refresh_token: 'rt-1' });
    await call;
  });

  it('a background write never replaces a newer sign-in', async () => {
    let failing = true;
    objects.beforePut = () => {
      if (failing) throw new StorageError('timeout', 'S3 did not answer');
    };
    await sut.getValid(EMAIL);
    failing = false;
    await objects.put(KEY, document('rt-signin', 'at-signin', 3600_000)); // the user signs in again on a replica
    await until(() => writeBack.size === 0);
    expect(objects.stored()).toMatchObject({ refresh_token: 'rt-signin' });
  });

  it('a revocation while the write is pending keeps the credentials deleted', async () => {
    let failing = true;
    objects.beforePut = () => {
      if (failing) throw new StorageError('timeout', 'S3 did not answer');
    };
    await sut.getValid(EMAIL);
    await sut.deleteForRevocation(EMAIL);
    failing = false;
    await new Promise((r) => setTimeout(r, 600));
    expect(objects.stored()).toBeUndefined();
    expect(writeBack.size).toBe(0);
  });

  it('a rotation that lands while another replica revokes its grant revokes the successor itself and deletes it', async () => {
    // The other replica read rt-0 and wrote its mark; Google answered this refresh just before that revocation.
    google.onRefresh = () => marks.put({ version: 1, email: EMAIL, started_at: new Date().toISOString(), grant_sha256: grantFingerprint('rt-0') });
    await expect(sut.getValid(EMAIL)).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(google.revoked).toEqual(['rt-1']); // the successor, which only this replica knew
    expect(google.live.size).toBe(0);
    expect(objects.stored()).toBeUndefined();
  });

  it('a background write of a rotated token checks for a revocation that started meanwhile', async () => {
    let failing = true;
    objects.beforePut = (key) => {
      if (failing && key === KEY) throw new StorageError('timeout', 'S3 did not answer');
    };
    await sut.getValid(EMAIL); // rt-0 -> rt-1, kept in memory
    await marks.put({ version: 1, email: EMAIL, started_at: new Date().toISOString(), grant_sha256: grantFingerprint('rt-0') });
    failing = false;
    await until(() => writeBack.size === 0);
    await until(() => google.revoked.length > 0);
    expect(google.revoked).toEqual(['rt-1']);
    await until(() => objects.stored() === undefined);
  });

  it('a revocation mark for another grant (a newer sign-in) leaves a rotation alone', async () => {
    await marks.put({ version: 1, email: EMAIL, started_at: new Date().toISOString(), grant_sha256: grantFingerprint('rt-older') });
    expect((await sut.getValid(EMAIL)).refreshToken).toBe('rt-1');
    expect(google.revoked).toEqual([]);
    expect(objects.stored()).toMatchObject({ refresh_token: 'rt-1' });
  });

  it('without rotation, a refresh never re-creates credentials deleted meanwhile (a revocation on another replica)', async () => {
    google.rotates = false;
    google.onRefresh = () => objects.delete(KEY); // another replica's revocation deleted them
    await expect(sut.getValid(EMAIL)).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(objects.stored()).toBeUndefined();
  });

  it('a stored access token Google has rejected here is never handed out again: reporting it refreshes', async () => {
    await objects.put(KEY, document('rt-0', 'at-stored', 3600_000), { ifMatch: (await objects.get(KEY))?.etag });
    expect(await sut.getValid(EMAIL)).toMatchObject({ token: 'at-stored' });
    expect(sut.refreshedHere('at-stored')).toBe(false);
    const next = await sut.refreshRejected(EMAIL, 'at-stored');
    expect(next).toMatchObject({ token: 'at-1' });
    expect(sut.refreshedHere('at-1')).toBe(true);
    expect(google.calls).toEqual(['rt-0']);
  });
});
