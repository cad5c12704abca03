import { useReplicasBehindS3Proxy } from '../support/behind-s3-proxy.js';
import { getWithBearer, objectExists, signIn } from '../support/harness.js';

/** Logout is honest: a session is reported ended only once S3 confirmed the delete. */
describe('Logout under S3 faults', () => {
  const env = { S3_TIMEOUT_MS: '1500', SESSION_CACHE_TTL_MS: '200' };
  const replicas = useReplicasBehindS3Proxy({
    sut: { throughProxy: true, env }, // reaches S3 through the proxy
    other: { env }, // another replica, direct to S3
  });

  const logout = (token: string) => fetch(`${replicas.sut.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const sessionDelete = () => new RegExp(`^/${replicas.world.bucket}/sessions/[A-Za-z0-9_-]{43}\\.json$`);
  const pause = () => new Promise((r) => setTimeout(r, 250)); // past SESSION_CACHE_TTL_MS

  it('a dropped delete: 503 telling to retry, the session stays usable on every replica, the retry ends it (204)', async () => {
    const user = await signIn(replicas.sut, replicas.world, 'drop-request@example.com');
    const fault = replicas.s3.inject({ method: 'DELETE', path: sessionDelete(), fault: 'reset', times: Infinity });
    const failed = await logout(user.access_token);
    fault.remove();
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await failed.json()).toMatchObject({ statusCode: 503, error: 'storage_unavailable', message: expect.stringMatching(/S3.*[Rr]etry/) });
    expect(await objectExists(replicas.world, `sessions/${user.session_id}.json`)).toBe(true);
    expect((await getWithBearer(replicas.sut, '/auth/session', user.access_token)).status).toBe(200);
    await pause();
    expect((await getWithBearer(replicas.other, '/auth/session', user.access_token)).status).toBe(200);
    expect((await getWithBearer(replicas.sut, '/auth/session', user.access_token)).status).toBe(200);

    expect((await logout(user.access_token)).status).toBe(204);
    expect(await objectExists(replicas.world, `sessions/${user.session_id}.json`)).toBe(false);
    expect(await objectExists(replicas.world, `sessions/by-user/drop-request@example.com/${user.session_id}`)).toBe(false);
    expect((await getWithBearer(replicas.sut, '/auth/session', user.access_token)).status).toBe(401);
    await pause();
    expect((await getWithBearer(replicas.other, '/auth/session', user.access_token)).status).toBe(401);
  });

  it('a dropped answer (S3 deleted it): 503, and the retry answers 204, not 401 session_ended', async () => {
    const user = await signIn(replicas.sut, replicas.world, 'drop-answer@example.com');
    const fault = replicas.s3.inject({ method: 'DELETE', path: sessionDelete(), fault: 'drop-answer', times: Infinity });
    const failed = await logout(user.access_token);
    fault.remove();
    expect(failed.status).toBe(503);
    expect(await objectExists(replicas.world, `sessions/${user.session_id}.json`)).toBe(false); // applied, answer lost
    // Right away (the replica's memory still holds the session) and after the cache TTL (S3 says it is gone):
    expect((await logout(user.access_token)).status).toBe(204);
    await pause();
    expect((await logout(user.access_token)).status).toBe(204);
    expect((await getWithBearer(replicas.sut, '/auth/session', user.access_token)).status).toBe(401);
  });

  it('a retry after the answer was lost, on a replica that never saw the session, answers 204', async () => {
    const user = await signIn(replicas.sut, replicas.world, 'drop-answer-2@example.com');
    const fault = replicas.s3.inject({ method: 'DELETE', path: sessionDelete(), fault: 'drop-answer', times: Infinity });
    expect((await logout(user.access_token)).status).toBe(503);
    fault.remove();
    const retried = await fetch(`${replicas.other.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${user.access_token}` } });
    expect(retried.status).toBe(204);
  });

  it('still refuses a missing or forged bearer with 401', async () => {
    const missing = await fetch(`${replicas.sut.url}/auth/logout`, { method: 'POST' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ statusCode: 401, error: 'missing_token' });
    const forged = await logout('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl');
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ statusCode: 401, error: 'invalid_token' });
  });
});
