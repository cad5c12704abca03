import { jest } from '@jest/globals';
import { CredentialsRepository } from '../../src/credentials/credentials.repository.js';
import { JsonObjectRepository } from '../../src/storage/json-object.repository.js';
import { getWithBearer, objectExists, readObject, Service, signIn, startService, startWorldWithService,
  stopAll, World } from '../support/harness.js';

const GMAIL = '/v1/users/me/gmail/messages';

describe('Scenario 2: refresh', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  it('refreshes an access token Google rejects, updates S3 and memory, and the call succeeds', async () => {
    const { access_token } = await signIn(sut, world, 'ann@example.com');
    const before = await readObject(world, 'credentials/ann@example.com.json');
    world.google.expireAccessTokens('ann@example.com');

    const res = await getWithBearer(sut, GMAIL, access_token);
    expect(res.status).toBe(200);
    expect(world.google.refreshCount('ann@example.com')).toBe(1);

    const after = await readObject(world, 'credentials/ann@example.com.json');
    expect(after.json.token).not.toBe(before.json.token);
    expect(Date.parse(after.json.expiry as string)).toBeGreaterThanOrEqual(Date.parse(before.json.expiry as string));
    expect(after.json.updated_at).not.toBe(before.json.updated_at);
    expect(after.json.refresh_token).toBe(before.json.refresh_token);
    expect(after.head.ServerSideEncryption).toBe(world.s3.sse);

    // The in-memory copy was updated too: the next call uses the new token without another refresh.
    expect((await getWithBearer(sut, GMAIL, access_token)).status).toBe(200);
    expect(world.google.refreshCount('ann@example.com')).toBe(1);
  });

  it('50 concurrent calls with an expired token cause one refresh and one S3 write', async () => {
    const { access_token } = await signIn(sut, world, 'ben@example.com');
    world.google.expireAccessTokens('ben@example.com');
    const objects = sut.app.get(JsonObjectRepository);
    const puts = jest.spyOn(objects, 'put'); // counts the real writes, still performs them
    try {
      const results = await Promise.all(Array.from({ length: 50 }, () => getWithBearer(sut, GMAIL, access_token)));
      expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
      expect(world.google.refreshCount('ben@example.com')).toBe(1);
      expect(puts.mock.calls.filter(([key]) => key === 'credentials/ben@example.com.json')).toHaveLength(1);
    } finally {
      puts.mockRestore();
    }
  });

  it('two instances refreshing at once leave one valid object that still holds the refresh token', async () => {
    const other = await startService(world);
    try {
      const { access_token } = await signIn(sut, world, 'cleo@example.com');
      const stored = await readObject(world, 'credentials/cleo@example.com.json');
      world.google.expireAccessTokens('cleo@example.com');
      const calls = [sut, other].flatMap((s) => Array.from({ length: 10 }, () => getWithBearer(s, GMAIL, access_token)));
      const statuses = (await Promise.all(calls)).map((r) => r.status);
      expect(statuses).toEqual(Array(20).fill(200));
      const after = await readObject(world, 'credentials/cleo@example.com.json');
      expect(after.json).toMatchObject({ version: 1, email: 'cleo@example.com', refresh_token: stored.json.refresh_token, token: expect.any(String) });
      expect(world.google.refreshCount('cleo@example.com')).toBeLessThanOrEqual(2);
      expect(world.google.refreshCount('cleo@example.com')).toBeGreaterThanOrEqual(1);
    } finally {
      await other.close();
    }
  });

  it('racing writers on one credentials object re-read, merge and retry on 412; the refresh token survives', async () => {
    await signIn(sut, world, 'fay@example.com');
    const before = await readObject(world, 'credentials/fay@example.com.json');
    const other = await startService(world);
    const writes = [sut, other].map((s) => jest.spyOn(s.app.get(JsonObjectRepository), 'put'));
    try {
      const repos = [sut, other].map((s) => s.app.get(CredentialsRepository));
      // Updates that omit the refresh token, as Google's refresh responses do.
      await Promise.all(Array.from({ length: 12 }, (_, i) => repos[i % 2].save('fay@example.com', { token: `token-${i}`, expiry: new Date(Date.now() + 3600_000) })));
      const attempts = writes.reduce((n, w) => n + w.mock.calls.filter(([key]) => key === 'credentials/fay@example.com.json').length, 0);
      expect(attempts).toBeGreaterThan(12); // some writes lost the If-Match race and were retried
      const after = await readObject(world, 'credentials/fay@example.com.json');
      expect(after.json.refresh_token).toBe(before.json.refresh_token);
      expect(String(after.json.token)).toMatch(/^token-\d+$/);
      expect(after.head.ServerSideEncryption).toBe(world.s3.sse);
    } finally {
      writes.forEach((w) => w.mockRestore());
      await other.close();
    }
  });

  it('invalid_grant ends the sessions, deletes the credentials and answers 401 reauth_required', async () => {
    const { access_token } = await signIn(sut, world, 'dora@example.com');
    world.google.revokeUser('dora@example.com');
    const res = await getWithBearer(sut, GMAIL, access_token);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ statusCode: 401, error: 'reauth_required', message: expect.stringContaining('/auth/google') });
    expect(await objectExists(world, 'credentials/dora@example.com.json')).toBe(false);
    expect((await getWithBearer(sut, '/auth/session', access_token)).status).toBe(401);
  });

  // A client secret rotated at Google but not yet on every replica (or a typo in a deploy): Google refuses the
  // client (401 invalid_client), not the users' grants. Taken for invalid_grant, one bad replica would delete the
  // credentials and end the sessions of every user it served until it was rolled back.
  it('a replica whose GOOGLE_CLIENT_SECRET Google refuses (401 invalid_client) deletes no credentials and ends no session', async () => {
    const emails = ['gil@example.com', 'hal@example.com'];
    const users = await Promise.all(emails.map((email) => signIn(sut, world, email)));
    const before = await Promise.all(emails.map((email) => readObject(world, `credentials/${email}.json`)));
    const misconfigured = await startService(world, { GOOGLE_CLIENT_SECRET: 'a-secret-google-no-longer-accepts' });
    try {
      for (const [i, email] of emails.entries()) {
        world.google.expireAccessTokens(email);
        const res = await getWithBearer(misconfigured, GMAIL, users[i].access_token);
        expect(res.status).toBe(502);
        expect(await res.json()).toMatchObject({ error: 'google_unavailable', message: expect.stringContaining('invalid_client') });
      }
    } finally {
      await misconfigured.close();
    }
    for (const [i, email] of emails.entries()) {
      expect((await readObject(world, `credentials/${email}.json`)).json.refresh_token).toBe(before[i].json.refresh_token);
      // The replica with the right secret refreshes with the same refresh token, on the same session.
      expect((await getWithBearer(sut, GMAIL, users[i].access_token)).status).toBe(200);
    }
  });

  it.each([['server_error'], ['timeout']] as const)('a refresh failing with %s deletes nothing and answers 502', async (failure) => {
    const email = `eve-${failure}@example.com`.replace('_', '-');
    const { access_token } = await signIn(sut, world, email);
    world.google.expireAccessTokens(email);
    world.google.failNext('refresh', failure);
    const res = await getWithBearer(sut, GMAIL, access_token);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ statusCode: 502, message: expect.stringContaining('retry') });
    expect(await objectExists(world, `credentials/${email}.json`)).toBe(true);
    // Once Google is back, the same bearer works: nothing was lost.
    expect((await getWithBearer(sut, GMAIL, access_token)).status).toBe(200);
  });
});
