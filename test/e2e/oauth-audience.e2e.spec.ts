import * as oauth from 'oauth4webapi';
import { Browser } from '../support/http-client.js';
import { getWithBearer, Service, signIn, startService, startWorld, stopAll, World } from '../support/harness.js';
import { challengeParams, claimsOf, OAuthTestClient, workspaceRoutes } from '../support/oauth-tokens.js';

const insecure = { [oauth.allowInsecureRequests]: true };
const APIS = ['gmail', 'drive', 'calendar', 'docs', 'sheets', 'tasks', 'contacts'];
const ALL_DEFAULT = ['/v1/users/me/gmail/messages', '/v1/users/me/drive/files', '/v1/users/me/calendar/events'];

describe('OAuth audiences: a token works only at the resource it was issued for (RFC 8707, RFC 9728)', () => {
  let world: World;
  let sut: Service;
  let client: OAuthTestClient;
  const email = 'aud-user@example.com';
  const browser = new Browser();

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world, { JWT_ISSUER: undefined });
    client = await OAuthTestClient.register(sut, world);
  });
  afterAll(() => stopAll(world, sut));

  const tokenFor = async (resource: string | undefined) => (await client.tokens(email, resource === undefined ? {} : { resource }, browser)).access_token;

  it('a token for <base>/v1/users/me/gmail works on Gmail (me or own email) and is refused on Drive and elsewhere with 401 invalid_token', async () => {
    const token = await tokenFor(`${sut.url}/v1/users/me/gmail`);
    expect(claimsOf(token).aud).toBe(`${sut.url}/v1/users/me/gmail`);
    expect((await getWithBearer(sut, '/v1/users/me/gmail/messages', token)).status).toBe(200);
    expect((await getWithBearer(sut, `/v1/users/${encodeURIComponent(email)}/gmail/labels`, token)).status).toBe(200);
    for (const [path, resourcePath] of [
      ['/v1/users/me/drive/files', '/v1/users/me/drive'],
      [`/v1/users/${encodeURIComponent(email)}/drive/files`, '/v1/users/me/drive'],
      ['/v1/users/me/calendar/events', '/v1/users/me/calendar'],
      ['/auth/session', ''],
    ]) {
      const res = await getWithBearer(sut, path, token);
      expect([path, res.status]).toEqual([path, 401]);
      expect(((await res.json()) as { error: string; message: string }).error).toBe('invalid_token');
      const params = challengeParams(res.headers.get('www-authenticate'));
      expect([path, params.error, params.resource_metadata]).toEqual([path, 'invalid_token', `${sut.url}/.well-known/oauth-protected-resource${resourcePath}`]);
      expect(params.scope).toEqual(expect.stringContaining('https://www.googleapis.com/auth/'));
    }
  });

  it('a token for the base URL (with or without the trailing slash), for /v1, or with no resource works everywhere it should', async () => {
    for (const resource of [sut.url, `${sut.url}/`, undefined]) {
      const token = await tokenFor(resource);
      for (const path of [...ALL_DEFAULT, '/auth/session']) expect([resource, path, (await getWithBearer(sut, path, token)).status]).toEqual([resource, path, 200]);
    }
    expect(claimsOf(await tokenFor(`${sut.url}/`)).aud).toBe(sut.url);
    const v1 = await tokenFor(`${sut.url}/v1`);
    for (const path of ALL_DEFAULT) expect([path, (await getWithBearer(sut, path, v1)).status]).toEqual([path, 200]);
    expect((await getWithBearer(sut, '/auth/session', v1)).status).toBe(401);
    // The browser sign-in's token (JWT_AUDIENCE) works everywhere too.
    const browserToken = (await signIn(sut, world, email, new Browser())).access_token;
    for (const path of [...ALL_DEFAULT, '/auth/session']) expect([path, (await getWithBearer(sut, path, browserToken)).status]).toEqual([path, 200]);
  });

  it('a refreshed token keeps its audience', async () => {
    const tokens = await client.tokens(email, { resource: `${sut.url}/v1/users/me/drive` }, browser);
    const refreshed = await client.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string });
    const token = refreshed.json.access_token as string;
    expect(claimsOf(token).aud).toBe(`${sut.url}/v1/users/me/drive`);
    expect((await getWithBearer(sut, '/v1/users/me/drive/files', token)).status).toBe(200);
    expect((await getWithBearer(sut, '/v1/users/me/gmail/messages', token)).status).toBe(401);
  });

  it('the token request may name the resource again, or a narrower one, never a wider or foreign one (RFC 8707 2.2)', async () => {
    const v1 = await client.tokens(email, { resource: `${sut.url}/v1` }, browser);
    const same = await client.token({ grant_type: 'refresh_token', refresh_token: v1.refresh_token as string, resource: `${sut.url}/v1` });
    expect([same.status, claimsOf(same.json.access_token as string).aud]).toEqual([200, `${sut.url}/v1`]);
    const narrower = await client.token({ grant_type: 'refresh_token', refresh_token: same.json.refresh_token as string, resource: `${sut.url}/v1/users/me/tasks` });
    expect([narrower.status, claimsOf(narrower.json.access_token as string).aud]).toEqual([200, `${sut.url}/v1/users/me/tasks`]);
    expect((await getWithBearer(sut, '/v1/users/me/gmail/messages', narrower.json.access_token as string)).status).toBe(401);
    for (const resource of [sut.url, `${sut.url}/mcp`, 'https://other.example.com/v1']) {
      const wider = await client.token({ grant_type: 'refresh_token', refresh_token: narrower.json.refresh_token as string, resource });
      expect([resource, wider.status, wider.json.error]).toEqual([resource, 400, 'invalid_target']);
    }
    // Refused before anything was rotated: the same refresh token still works, for its own audience.
    const still = await client.token({ grant_type: 'refresh_token', refresh_token: narrower.json.refresh_token as string });
    expect([still.status, claimsOf(still.json.access_token as string).aud]).toEqual([200, `${sut.url}/v1`]);
  });

  it('refuses a resource that is not one of ours with invalid_target', async () => {
    await client.tokens(email, {}, browser); // the person has approved the client: errors go back to it
    for (const resource of [`${sut.url}/v1/users/me/youtube`, `${sut.url}/v1/users/${email}/gmail`, `${sut.url}/v1/users/me`, 'https://other.example.com/v1', `${sut.url}/v1/users/me/gmail#x`]) {
      const { callback, tokens } = await client.authorize(email, { resource }, browser);
      expect([resource, callback.searchParams.get('error')]).toEqual([resource, 'invalid_target']);
      expect(tokens).toBeUndefined();
    }
  });

  it('a 401 raised while calling Google (the grant is gone: reauth_required) carries the route\'s challenge too', async () => {
    const token = (await client.tokens('revoked-at-google@example.com', {}, new Browser())).access_token;
    world.google.revokeUser('revoked-at-google@example.com');
    world.google.expireAccessTokens('revoked-at-google@example.com');
    const res = await getWithBearer(sut, '/v1/users/me/drive/files', token);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('reauth_required');
    expect(challengeParams(res.headers.get('www-authenticate'))).toMatchObject({ error: 'invalid_token', resource_metadata: `${sut.url}/.well-known/oauth-protected-resource/v1/users/me/drive` });
  });

  it('serves metadata per resource with resource equal to the URL asked for, passing the oauth4webapi strict check', async () => {
    for (const path of ['', '/v1', ...APIS.map((a) => `/v1/users/me/${a}`)]) {
      const resource = new URL(`${sut.url}${path}`);
      const res = await oauth.resourceDiscoveryRequest(resource, insecure);
      expect(res.url).toBe(`${sut.url}/.well-known/oauth-protected-resource${path}`);
      const metadata = await oauth.processResourceDiscoveryResponse(resource, res);
      expect(metadata).toMatchObject({ resource: `${sut.url}${path}`, authorization_servers: [sut.url], bearer_methods_supported: ['header'] });
      expect(metadata.scopes_supported?.length).toBeGreaterThan(0);
    }
    const gmail = (await (await fetch(`${sut.url}/.well-known/oauth-protected-resource/v1/users/me/gmail`)).json()) as { scopes_supported: string[] };
    expect(gmail.scopes_supported).toEqual(expect.arrayContaining(['https://www.googleapis.com/auth/gmail.readonly', 'https://www.googleapis.com/auth/gmail.send', 'https://mail.google.com/']));
    expect(gmail.scopes_supported.some((s) => s.includes('drive'))).toBe(false);
    for (const path of ['/v1/users/me', '/v1/users/me/youtube', '/v1/users/someone@example.com/gmail', '/auth', '/..%2Fv1']) {
      const res = await fetch(`${sut.url}/.well-known/oauth-protected-resource${path}`);
      expect([path, res.status]).toEqual([path, 404]);
      expect(await res.json()).toMatchObject({ statusCode: 404, error: 'not_found', message: expect.stringContaining('oauth-protected-resource') });
    }
  });

  it('every 401 of every Workspace route points at metadata that the strict check accepts for the route it came from', async () => {
    const routes = await workspaceRoutes(sut);
    const checked = new Set<string>();
    for (const { method, path } of [...routes, { method: 'GET', path: '/auth/session' }]) {
      const res = await fetch(`${sut.url}${path}`, { method });
      expect([method, path, res.status]).toEqual([method, path, 401]);
      const { resource_metadata: metadataUrl, scope } = challengeParams(res.headers.get('www-authenticate'));
      expect(scope.split(' ').length).toBeGreaterThan(0);
      // RFC 9728 section 3.3: the resource is the URL the well-known path was inserted into, and contains the route.
      const resource = new URL(metadataUrl.replace('/.well-known/oauth-protected-resource', ''));
      const inside = resource.pathname === '/' || path === resource.pathname || path.startsWith(`${resource.pathname}/`);
      expect([path, inside]).toEqual([path, true]);
      if (checked.has(metadataUrl)) continue;
      checked.add(metadataUrl);
      const metadata = await oauth.processResourceDiscoveryResponse(resource, await fetch(metadataUrl));
      // What the challenge asks for is among what the resource supports.
      expect(metadata.scopes_supported).toEqual(expect.arrayContaining(scope.split(' ')));
    }
    expect(checked.size).toBe(APIS.length + 1);
  });
});
