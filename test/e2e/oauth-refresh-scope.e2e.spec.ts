import { Browser } from '../support/http-client.js';
import { Service, startService, startWorld, stopAll, World } from '../support/harness.js';
import { apiClient } from '../support/api-client.js';
import { claimsOf, OAuthTestClient } from '../support/oauth-tokens.js';

const G = 'https://www.googleapis.com/auth/';
const GMAIL_READ = `${G}gmail.readonly`;
const DRIVE_READ = `${G}drive.readonly`;
const GMAIL_SEND = `${G}gmail.send`;

/** RFC 6749 section 6: a refresh may ask for the grant's scopes or fewer, and gets exactly that; more is invalid_scope. */
describe('Scope on a refresh', () => {
  let world: World;
  let sut: Service;
  let client: OAuthTestClient;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world, { JWT_ISSUER: undefined });
    client = await OAuthTestClient.register(sut, world);
  });
  afterAll(() => stopAll(world, sut));

  it('narrowing: a refresh asking for one of the grant\'s scopes gets a token with that scope alone', async () => {
    const tokens = await client.tokens('narrow@example.com', { scope: `${GMAIL_READ} ${DRIVE_READ}` }, new Browser());
    expect(tokens.scope?.split(' ').sort()).toEqual([DRIVE_READ, GMAIL_READ].sort());
    const narrowed = await client.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, scope: DRIVE_READ });
    expect(narrowed.status).toBe(200);
    expect(narrowed.json.scope).toBe(DRIVE_READ);
    expect(claimsOf(narrowed.json.access_token as string).scope).toBe(DRIVE_READ);
    const call = apiClient(sut, narrowed.json.access_token as string);
    expect((await call('GET', '/v1/users/me/drive/files')).status).toBe(200);
    expect((await call('GET', '/v1/users/me/gmail/messages')).status).toBe(403);
    // The refresh token keeps the whole grant: the next refresh without scope gets both again.
    const whole = await client.token({ grant_type: 'refresh_token', refresh_token: narrowed.json.refresh_token as string });
    expect(whole.json.scope?.split(' ').sort()).toEqual([DRIVE_READ, GMAIL_READ].sort());
  });

  it('widening: never more than the grant; asking only for what it lacks is invalid_scope, and the refresh token is not rotated away', async () => {
    const tokens = await client.tokens('widen@example.com', { scope: GMAIL_READ }, new Browser());
    const nothing = await client.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, scope: GMAIL_SEND });
    expect(nothing.status).toBe(400);
    expect(nothing.json).toMatchObject({ error: 'invalid_scope', error_description: expect.stringContaining(GMAIL_READ) });
    const unknown = await client.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, scope: 'openid' });
    expect(unknown).toMatchObject({ status: 400, json: { error: 'invalid_scope' } });
    // A client resending its original, wider request (oauthlib does) gets the grant's part of it, and is told so.
    const wider = await client.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, scope: `offline_access ${GMAIL_READ} ${GMAIL_SEND}` });
    expect(wider.status).toBe(200); // the same token: the refusals above did not rotate it
    expect(wider.json.scope).toBe(GMAIL_READ);
    expect(claimsOf(wider.json.access_token as string).scope).toBe(GMAIL_READ);
  });
});
