import { GoogleClientCache } from '../../src/credentials/google-client.cache.js';
import { getWithBearer, readObject, Service, signIn, startWorldWithService, stopAll, World } from '../support/harness.js';

const ROUTES = ['/v1/users/me/gmail/messages', '/v1/users/me/drive/files', '/v1/users/me/calendar/events'];

describe('Workspace: the per-user Google client cache', () => {
  let world: World;
  let sut: Service;
  let cache: GoogleClientCache;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
    cache = sut.app.get(GoogleClientCache);
  });
  afterAll(() => stopAll(world, sut));

  const tokenInS3 = async (email: string) => (await readObject(world, `credentials/${email}.json`)).json.token as string;

  it('one client per user serves every API route, and a refresh updates it in place', async () => {
    const { access_token } = await signIn(sut, world, 'cache-a@example.com');
    const sizeBefore = cache.size;
    for (const route of ROUTES) expect((await getWithBearer(sut, route, access_token)).status).toBe(200);
    expect(cache.size).toBe(sizeBefore + 1);

    const first = await tokenInS3('cache-a@example.com');
    const client = cache.peek('cache-a@example.com');
    expect(client?.auth.credentials.access_token).toBe(first);

    world.google.expireAccessTokens('cache-a@example.com');
    for (const route of ROUTES) expect((await getWithBearer(sut, route, access_token)).status).toBe(200);
    expect(world.google.refreshCount('cache-a@example.com')).toBe(1);
    const refreshed = await tokenInS3('cache-a@example.com');
    expect(refreshed).not.toBe(first);
    // Same object, now holding the refreshed token: updated in place, not rebuilt.
    expect(cache.peek('cache-a@example.com')).toBe(client);
    expect(client?.auth.credentials.access_token).toBe(refreshed);
    expect(cache.size).toBe(sizeBefore + 1);
  });

  it('revocation drops the user\'s client and leaves other users\' clients', async () => {
    const ann = await signIn(sut, world, 'cache-b@example.com');
    const bob = await signIn(sut, world, 'cache-c@example.com');
    for (const t of [ann, bob]) expect((await getWithBearer(sut, ROUTES[0], t.access_token)).status).toBe(200);
    expect(cache.has('cache-b@example.com')).toBe(true);

    const res = await fetch(`${sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ann.access_token}` } });
    expect(res.status).toBe(200);
    expect(cache.has('cache-b@example.com')).toBe(false);
    expect(cache.has('cache-c@example.com')).toBe(true);
    expect((await getWithBearer(sut, ROUTES[0], ann.access_token)).status).toBe(401);
    expect(cache.has('cache-b@example.com')).toBe(false);
  });

  it('a grant Google no longer honours drops the client too (refresh answers invalid_grant)', async () => {
    const { access_token } = await signIn(sut, world, 'cache-d@example.com');
    expect((await getWithBearer(sut, ROUTES[1], access_token)).status).toBe(200);
    expect(cache.has('cache-d@example.com')).toBe(true);
    world.google.revokeUser('cache-d@example.com');
    const res = await getWithBearer(sut, ROUTES[1], access_token);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('reauth_required');
    expect(cache.has('cache-d@example.com')).toBe(false);
  });
});
