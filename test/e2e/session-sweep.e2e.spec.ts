import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { ExpiredSessionSweeper } from '../../src/sessions/expired-session-sweeper.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { getWithBearer, objectExists, type Service, signIn, startService, startWorld, type World } from '../support/harness.js';

const DAY = 24 * 3600 * 1000;
/** Past the longest session lifetime (OAUTH_REFRESH_TOKEN_TTL_SECONDS, 30 days by default) and the sweeper's hour of slack. */
const AFTER_EVERY_LIFETIME = 31 * DAY;

const newId = () => randomBytes(32).toString('base64url');

/** Expired sessions are deleted from S3; nothing else under the session prefix is. */
describe('Expired session sweep', () => {
  let world: World;
  let sut: Service;
  let sweeper: ExpiredSessionSweeper;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world, { SESSION_SWEEP_INTERVAL_MINUTES: '0' }); // sweeps only when the test says
    sweeper = sut.app.get(ExpiredSessionSweeper);
  });
  afterAll(async () => {
    await sut?.close();
    await world?.close();
  });

  const put = (key: string, body: unknown) =>
    world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: JSON.stringify(body), ContentType: 'application/json', ServerSideEncryption: 'AES256' }));
  /** A session as the service stores it, with its index entry. */
  const putSession = async (email: string, id: string, createdAt: number, expiresAt: number) => {
    await put(`sessions/${id}.json`, { version: 1, session_id: id, email, created_at: new Date(createdAt).toISOString(), expires_at: new Date(expiresAt).toISOString() });
    await put(`sessions/by-user/${email}/${id}`, { session_id: id });
  };

  it('judged a month on: deletes expired sessions and stale index entries, keeps live sessions and every other object', async () => {
    const expired = await signIn(sut, world, 'expired@example.com'); // a real sign-in: expires after JWT_TTL_SECONDS
    const leftover = newId(); // an index entry whose session is gone (its delete failed after a logout)
    await put(`sessions/by-user/expired@example.com/${leftover}`, { session_id: leftover });
    const longLived = newId(); // made under a longer lifetime than today's settings: still live a month on
    await putSession('long@example.com', longLived, Date.now(), Date.now() + 400 * DAY);
    const unreadable = newId();
    await put(`sessions/${unreadable}.json`, { note: 'not a session document' });
    const others = ['sessions/revoking/someone@example.com.json', 'sessions/revoked/someone@example.com.json', `sessions/used/${newId()}`];
    for (const key of others) await put(key, { kept: true });

    const outcome = await sweeper.sweep(Date.now() + AFTER_EVERY_LIFETIME);

    expect(outcome).toEqual({ sessionsDeleted: 1, indexEntriesDeleted: 2, failures: 0 });
    expect(await objectExists(world, `sessions/${expired.session_id}.json`)).toBe(false);
    expect(await objectExists(world, `sessions/by-user/expired@example.com/${expired.session_id}`)).toBe(false);
    expect(await objectExists(world, `sessions/by-user/expired@example.com/${leftover}`)).toBe(false);
    expect(await objectExists(world, `sessions/${longLived}.json`)).toBe(true);
    expect(await objectExists(world, `sessions/by-user/long@example.com/${longLived}`)).toBe(true);
    expect(await objectExists(world, `sessions/${unreadable}.json`)).toBe(true);
    for (const key of others) expect(await objectExists(world, key)).toBe(true);
    // The user's Google credentials are not a session's to delete.
    expect(await objectExists(world, 'credentials/expired@example.com.json')).toBe(true);
  });

  it('today: touches no live session, and does not even look at objects younger than the longest lifetime', async () => {
    const live = await signIn(sut, world, 'live@example.com');
    const young = newId(); // expired by its own document, but written just now: not a candidate yet
    await putSession('young@example.com', young, Date.now() - 2 * DAY, Date.now() - DAY);

    expect(await sweeper.sweep()).toEqual({ sessionsDeleted: 0, indexEntriesDeleted: 0, failures: 0 });
    expect(await objectExists(world, `sessions/${live.session_id}.json`)).toBe(true);
    expect(await objectExists(world, `sessions/${young}.json`)).toBe(true);
    expect((await getWithBearer(sut, '/auth/session', live.access_token)).status).toBe(200);
  });

  it('works through more expired sessions than one batch holds (500)', async () => {
    const ids = Array.from({ length: 520 }, newId);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(ids.slice(i, i + 50).map((id) => put(`sessions/${id}.json`, { version: 1, session_id: id, email: 'many@example.com', created_at: new Date().toISOString(), expires_at: new Date(Date.now() + 3600_000).toISOString() })));
    }
    const outcome = await sweeper.sweep(Date.now() + AFTER_EVERY_LIFETIME);
    expect(outcome.failures).toBe(0);
    expect(outcome.sessionsDeleted).toBeGreaterThanOrEqual(520);
    for (const id of [ids[0], ids[250], ids[499], ids[500], ids[519]]) expect(await objectExists(world, `sessions/${id}.json`)).toBe(false);
  }, 120_000); // about 1,600 S3 requests: seconds here, longer on a busy CI machine or Ceph

  it('S3 stalled: the sweep fails within S3_TIMEOUT_MS and deletes nothing; S3 back, the next one does the work', async () => {
    const proxy = await FaultProxy.start(world.s3.endpoint);
    const stalled = await startService(world, { S3_ENDPOINT: proxy.url, S3_TIMEOUT_MS: '1000', SESSION_SWEEP_INTERVAL_MINUTES: '0' });
    try {
      const id = newId();
      await putSession('stalled@example.com', id, Date.now(), Date.now() + 3600_000);
      const later = Date.now() + AFTER_EVERY_LIFETIME;
      proxy.blackhole(true);
      const started = Date.now();
      await expect(stalled.app.get(ExpiredSessionSweeper).sweep(later)).rejects.toThrow(/S3/);
      expect(Date.now() - started).toBeLessThan(5000);
      proxy.blackhole(false);
      expect(await objectExists(world, `sessions/${id}.json`)).toBe(true);

      const outcome = await stalled.app.get(ExpiredSessionSweeper).sweep(later);
      expect(outcome.failures).toBe(0);
      expect(outcome.sessionsDeleted).toBeGreaterThanOrEqual(1);
      expect(await objectExists(world, `sessions/${id}.json`)).toBe(false);
      expect(await objectExists(world, `sessions/by-user/stalled@example.com/${id}`)).toBe(false);
    } finally {
      await stalled.close();
      await proxy.stop();
    }
  });
});
