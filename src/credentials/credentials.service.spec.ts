import { Logger } from '@nestjs/common';
import { credentialsInMemory, document, EMAIL, KEY, type MemoryObjects, type RotatingGoogle } from '../../test/support/credentials-in-memory.js';
import { GoogleUnavailableError, ReauthRequiredError } from './credentials.errors.js';
import type { CredentialsService } from './credentials.service.js';
import type { RefreshWriteBack } from './refresh-write-back.js';

/** Reading a user's credentials and refreshing them from what S3 holds; writing a refresh: refresh-writes.spec.ts. */
describe('CredentialsService: a refresh token is never lost', () => {
  let objects: MemoryObjects;
  let google: RotatingGoogle;
  let writeBack: RefreshWriteBack;
  let sut: CredentialsService;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(async () => ({ objects, google, writeBack, sut } = await credentialsInMemory()));
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

  it('a stored access token Google has rejected here is never handed out again: reporting it refreshes', async () => {
    await objects.put(KEY, document('rt-0', 'at-stored', 3600_000), { ifMatch: (await objects.get(KEY))?.etag });
    expect(await sut.getValid(EMAIL)).toMatchObject({ token: 'at-stored' });
    expect(sut.refreshedHere('at-stored')).toBe(false);
    const next = await sut.refreshRejected(EMAIL, 'at-stored');
    expect(next).toMatchObject({ token: 'at-1' });
    expect(sut.refreshedHere('at-1')).toBe(true);
    expect(google.calls).toEqual(['rt-0']);
  });

  describe('checkStoredGrant (a sign-in that brought no refresh token)', () => {
    const withGoodAccessToken = async () => objects.put(KEY, document('rt-0', 'at-0', 3600_000), { ifMatch: (await objects.get(KEY))?.etag });

    it('asks Google even while the stored access token is good, and stores the rotated refresh token', async () => {
      await withGoodAccessToken();
      expect(await sut.checkStoredGrant(EMAIL)).toBe('alive');
      expect(google.calls).toEqual(['rt-0']);
      expect(objects.stored()).toMatchObject({ refresh_token: 'rt-1', token: 'at-1' });
    });

    it('a refused token is dead although its access token is still good: deleted after the grace, never answered alive', async () => {
      await withGoodAccessToken();
      google.live.clear();
      expect(await sut.checkStoredGrant(EMAIL)).toBe('dead');
      expect(objects.stored()).toBeUndefined();
    });

    it("a successor another replica stored after Google refused the token is alive, without a second refresh", async () => {
      await withGoodAccessToken();
      google.onRefresh = async (rt) => {
        if (rt !== 'rt-0') return;
        google.live.delete('rt-0');
        google.live.add('rt-other');
        await objects.put(KEY, document('rt-other', 'at-other', 3600_000));
      };
      expect(await sut.checkStoredGrant(EMAIL)).toBe('alive');
      expect(google.calls).toEqual(['rt-0']);
      expect(objects.stored()).toMatchObject({ refresh_token: 'rt-other' });
    });

    it('does not take the answer of a refresh already under way that asked Google nothing', async () => {
      await withGoodAccessToken();
      const other = sut.refreshRejected(EMAIL, 'at-elsewhere'); // a refresh that finds a good token in S3
      expect(await sut.checkStoredGrant(EMAIL)).toBe('alive');
      expect((await other).token).toBe('at-0');
      expect(google.calls).toEqual(['rt-0']);
    });

    it('Google failing is thrown as it is, and nothing is deleted', async () => {
      await withGoodAccessToken();
      google.onRefresh = () => {
        throw new GoogleUnavailableError("Google's token endpoint answered 503.");
      };
      await expect(sut.checkStoredGrant(EMAIL)).rejects.toBeInstanceOf(GoogleUnavailableError);
      expect(objects.stored()).toMatchObject({ refresh_token: 'rt-0' });
    });
  });
});
