import { Logger } from '@nestjs/common';
import { credentialsInMemory, document, EMAIL, KEY, type MemoryObjects, type RotatingGoogle, until } from '../../test/support/credentials-in-memory.js';
import { StorageError } from '../storage/storage.errors.js';
import { ReauthRequiredError } from './credentials.errors.js';
import type { CredentialsService } from './credentials.service.js';
import type { RefreshWriteBack } from './refresh-write-back.js';
import { grantFingerprint, type RevocationMarks } from './revocation-marks.js';

/**
 * Writing what Google answered a refresh (RefreshedGrantWriter, RefreshWriteBack, RevocationFence), seen through
 * CredentialsService: a rotated token S3 would not take is kept and written until it lands, a shutdown waits for it,
 * and neither ever undoes a revocation or a newer sign-in.
 */
describe('CredentialsService: a refresh token is never lost, and a revocation never undone, when a refresh is written', () => {
  let objects: MemoryObjects;
  let google: RotatingGoogle;
  let writeBack: RefreshWriteBack;
  let marks: RevocationMarks;
  let sut: CredentialsService;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => ({ objects, google, writeBack, marks, sut } = await credentialsInMemory()));
  afterEach(() => writeBack.onApplicationShutdown());

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
});
