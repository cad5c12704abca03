import { jest } from '@jest/globals';
import { CredentialsRepository } from '../../src/credentials/credentials.repository.js';
import { GoogleClientCache } from '../../src/credentials/google-client.cache.js';
import { SessionStore } from '../../src/sessions/session.store.js';
import { JsonObjectRepository } from '../../src/storage/json-object.repository.js';
import { getWithBearer, readObject, Service, signIn, SignedIn, startService, startWorldWithService, stopAll, World } from '../support/harness.js';

const USERS = ['uma@example.com', 'victor@example.com', 'wendy@example.com'];

describe('Scenario 3: many users', () => {
  let world: World;
  let sut: Service;
  let tokens: Record<string, SignedIn>;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
    const results = await Promise.all(USERS.map((u) => signIn(sut, world, u)));
    tokens = Object.fromEntries(results.map((r) => [r.email, r]));
  });
  afterAll(() => stopAll(world, sut));

  it('concurrent sign-ins give three objects, three sessions, and bearers mapped to their own users', async () => {
    for (const email of USERS) {
      const creds = await readObject(world, `credentials/${email}.json`);
      expect(creds.json.email).toBe(email);
      const session = await readObject(world, `sessions/${tokens[email].session_id}.json`);
      expect(session.json.email).toBe(email);
      const me = await getWithBearer(sut, '/auth/session', tokens[email].access_token);
      expect(await me.json()).toMatchObject({ email, session_id: tokens[email].session_id });
    }
    expect(new Set(USERS.map((u) => tokens[u].session_id)).size).toBe(3);
  });

  it('naming another user is a 403 that reads nothing of theirs and logs one SECURITY VIOLATION', async () => {
    const [me, other] = USERS;
    // Warm the other user's caches first: isolation must hold even when their client is cached.
    expect((await getWithBearer(sut, '/v1/users/me/drive/files', tokens[other].access_token)).status).toBe(200);
    expect(sut.app.get(GoogleClientCache).has(other)).toBe(true);

    const credentialReads = jest.spyOn(sut.app.get(CredentialsRepository), 'findByEmail');
    const s3Reads = jest.spyOn(sut.app.get(JsonObjectRepository), 'get');
    const clientLookups = jest.spyOn(sut.app.get(GoogleClientCache), 'forUser');
    const apiCallsBefore = world.google.apiCalls.length;
    const violationsBefore = sut.logs.events('SECURITY VIOLATION').length;
    try {
      for (const target of [other, other.toUpperCase(), encodeURIComponent(other)]) {
        const res = await getWithBearer(sut, `/v1/users/${target}/gmail/messages`, tokens[me].access_token);
        expect(res.status).toBe(403);
        const body = (await res.json()) as { message: string };
        expect(body).toMatchObject({ statusCode: 403, error: 'forbidden_user' });
        expect(body.message).not.toContain(other);
      }
      expect(credentialReads).not.toHaveBeenCalled();
      expect(s3Reads).not.toHaveBeenCalled();
      expect(clientLookups).not.toHaveBeenCalled();
      expect(world.google.apiCalls.length).toBe(apiCallsBefore);
    } finally {
      credentialReads.mockRestore();
      s3Reads.mockRestore();
      clientLookups.mockRestore();
    }
    const events = sut.logs.events('SECURITY VIOLATION').slice(violationsBefore);
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({ event: 'security_violation', caller: me, target: other, route: '/v1/users/:userId/gmail/messages' });
  });

  it('a session is bound to one user for life', async () => {
    const store = sut.app.get(SessionStore);
    // No API exists to change a session's user, and the session object itself cannot be changed.
    expect(Object.getOwnPropertyNames(Object.getPrototypeOf(store)).filter((m) => /update|rebind|set|assign/i.test(m))).toEqual([]);
    const [victim, attacker] = USERS;
    const session = await store.find(tokens[attacker].session_id);
    expect(session).toBeDefined();
    expect(Object.isFrozen(session)).toBe(true);
    expect(() => {
      (session as { email: string }).email = victim;
    }).toThrow(TypeError);

    // Rewriting the stored object to another user (a tampered bucket) is refused, not followed.
    const objects = sut.app.get(JsonObjectRepository);
    const key = `sessions/${tokens[attacker].session_id}.json`;
    const stored = await objects.get(key);
    await objects.put(key, { ...(stored?.value as object), email: victim });
    const other = await startService(world, { SESSION_CACHE_TTL_MS: '0' });
    try {
      // A replica reading the tampered object: the token's subject and the stored email disagree -> 401,
      // so the attacker's bearer never acts as the victim.
      const res = await getWithBearer(other, '/v1/users/me/gmail/messages', tokens[attacker].access_token);
      expect(res.status).toBe(401);
      const victimView = await getWithBearer(other, '/auth/session', tokens[victim].access_token);
      expect(await victimView.json()).toMatchObject({ email: victim, session_id: tokens[victim].session_id });
    } finally {
      await other.close();
      // Put the object back: once SESSION_CACHE_TTL_MS has passed, this replica too would read the tampered copy and
      // end the attacker's session, and the next test's calls (a slow CI machine takes that long) would get 401.
      await objects.put(key, stored?.value);
    }
  });

  it('a warm Workspace call makes no S3 call (session, credentials and client all in memory)', async () => {
    const [user] = USERS;
    expect((await getWithBearer(sut, '/v1/users/me/calendar/events', tokens[user].access_token)).status).toBe(200); // warm
    const objects = sut.app.get(JsonObjectRepository);
    const calls = [jest.spyOn(objects, 'get'), jest.spyOn(objects, 'put'), jest.spyOn(objects, 'delete'), jest.spyOn(objects, 'listPage')];
    try {
      for (let i = 0; i < 10; i++) expect((await getWithBearer(sut, '/v1/users/me/calendar/events', tokens[user].access_token)).status).toBe(200);
      expect(calls.map((c) => c.mock.calls.length)).toEqual([0, 0, 0, 0]);
    } finally {
      calls.forEach((c) => c.mockRestore());
    }
  });

  it('100 concurrent calls spread over the three users all succeed with their own data', async () => {
    const calls = Array.from({ length: 100 }, (_, i) => {
      const email = USERS[i % 3];
      return getWithBearer(sut, '/v1/users/me/gmail/messages?maxResults=5', tokens[email].access_token).then(async (res) => ({
        email,
        status: res.status,
        body: (await res.json()) as { messages: Array<{ id: string }> },
      }));
    });
    const results = await Promise.all(calls);
    // Any failure is named with its answer, so a CI log says what came back.
    expect(results.filter((r) => r.status !== 200).map((r) => [r.email, r.status, r.body])).toEqual([]);
    const foreign = results.flatMap((r) => r.body.messages.map((m) => m.id).filter((id) => !world.google.messageIds(r.email).includes(id)));
    expect(foreign).toEqual([]);
  });
});
