import { AppConfig } from '../config/app-config.js';
import type { AppConfigValues } from '../config/config.schema.js';
import { googleAuthLibrary, GoogleClientCache } from './google-client.cache.js';
import type { GoogleCredentials } from './google-credentials.js';

function cacheWith(clientCacheMax: number, clientCacheTtlMs: number): GoogleClientCache {
  const config = { values: { google: { clientId: 'client-id', clientCacheMax, clientCacheTtlMs } } as unknown as AppConfigValues } as AppConfig;
  return new GoogleClientCache(config);
}

const creds = (email: string, token = `token-of-${email}`): GoogleCredentials => ({ email, token, tokenUri: 'https://oauth2.googleapis.com/token', clientId: 'client-id', scopes: [], expiry: new Date(Date.now() + 3600_000) });

describe('GoogleClientCache', () => {
  beforeAll(() => googleAuthLibrary.load()); // GoogleApis.ready loads it before any call in the service

  it('gives every API of a user the same authenticated client, built once per API', () => {
    const cache = cacheWith(10, 60_000);
    const user = cache.forUser(creds('a@example.com'));
    let builds = 0;
    const gmail = user.api('gmail', (auth) => ({ auth, n: ++builds }));
    const drive = cache.forUser(creds('a@example.com')).api('drive', (auth) => ({ auth, n: ++builds }));
    expect(cache.forUser(creds('a@example.com')).api('gmail', () => ({ auth: undefined, n: ++builds }))).toBe(gmail);
    expect(drive.auth).toBe(gmail.auth);
    expect(builds).toBe(2);
    expect(cache.size).toBe(1);
  });

  it('updates the cached client in place on refresh: same object, new access token only', () => {
    const cache = cacheWith(10, 60_000);
    const user = cache.forUser(creds('a@example.com', 'old'));
    cache.updateToken(creds('a@example.com', 'new'));
    expect(cache.forUser(creds('a@example.com', 'new'))).toBe(user);
    expect(user.auth.credentials).toEqual({ access_token: 'new' });
  });

  it('keeps users apart: each user has their own client and token', () => {
    const cache = cacheWith(10, 60_000);
    const a = cache.forUser(creds('a@example.com'));
    const b = cache.forUser(creds('b@example.com'));
    expect(a).not.toBe(b);
    expect(a.auth.credentials.access_token).toBe('token-of-a@example.com');
    expect(b.auth.credentials.access_token).toBe('token-of-b@example.com');
  });

  it('is bounded: past GOOGLE_CLIENT_CACHE_MAX the least recently used user is dropped', () => {
    const cache = cacheWith(3, 60_000);
    for (const n of [1, 2, 3]) cache.forUser(creds(`u${n}@example.com`));
    cache.forUser(creds('u1@example.com')); // u1 used again: u2 is now the least recently used
    cache.forUser(creds('u4@example.com'));
    expect(cache.size).toBe(3);
    expect(['u1', 'u2', 'u3', 'u4'].map((u) => cache.has(`${u}@example.com`))).toEqual([true, false, true, true]);
  });

  it('forgets a client after GOOGLE_CLIENT_CACHE_TTL_MS', async () => {
    const cache = cacheWith(10, 40);
    const first = cache.forUser(creds('a@example.com'));
    await new Promise((r) => setTimeout(r, 80));
    expect(cache.has('a@example.com')).toBe(false);
    expect(cache.forUser(creds('a@example.com'))).not.toBe(first);
  });

  it('drops a user on revocation, leaving the others', () => {
    const cache = cacheWith(10, 60_000);
    cache.forUser(creds('a@example.com'));
    cache.forUser(creds('b@example.com'));
    cache.drop('a@example.com');
    expect(cache.has('a@example.com')).toBe(false);
    expect(cache.has('b@example.com')).toBe(true);
  });
});
