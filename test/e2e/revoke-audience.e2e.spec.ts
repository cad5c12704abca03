import { Browser } from '../support/http-client.js';
import { getWithBearer, objectExists, postToken, type Service, signIn, type SignedIn, startWorldWithService, stopAll, type TokenCarrier, type World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';
import { challengeParams, claimsOf, OAuthTestClient } from '../support/oauth-tokens.js';

const GMAIL_READONLY = 'https://www.googleapis.com/auth/gmail.readonly';
const LIST_LABELS = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_gmail_labels', arguments: {} } };

/**
 * /auth/revoke and /auth/logout are public to the bearer guard (they read the token themselves), so they check the
 * token's audience as the guard does: a token an OAuth client got for /mcp or one Workspace API must not end the
 * user's account (or a session) there. Its client ends its own grant at /oauth/revoke (RFC 7009).
 */
describe('/auth/revoke and /auth/logout accept only tokens for the whole service', () => {
  let world: World;
  let sut: Service;
  let client: OAuthTestClient;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService({ JWT_ISSUER: undefined }));
    client = await OAuthTestClient.register(sut, world);
  });
  afterAll(() => stopAll(world, sut));

  const post = (path: string, token: string, how: TokenCarrier = 'header') => postToken(sut, path, token, how);
  const mcpStatus = async (token: string) => (await rawMcp(`${sut.url}/mcp`, token, LIST_LABELS, '2025-11-25')).status;
  /** A user signed in with the browser, plus a read-only token a third-party client got for `resource` alone. */
  const userWithNarrowToken = async (email: string, resource: string): Promise<{ browser: SignedIn; narrow: string }> => {
    const browser = await signIn(sut, world, email);
    const narrow = (await client.tokens(email, { resource: `${sut.url}${resource}`, scope: GMAIL_READONLY }, new Browser())).access_token;
    expect(claimsOf(narrow)).toMatchObject({ aud: `${sut.url}${resource}`, client_id: client.clientId, scope: GMAIL_READONLY });
    return { browser, narrow };
  };
  /** The refusal a narrow token gets: 401 invalid_token, pointing its client at /oauth/revoke. */
  const expectRefused = async (res: Response, what: string) => {
    expect([what, res.status]).toEqual([what, 401]);
    expect(challengeParams(res.headers.get('www-authenticate'))).toMatchObject({ error: 'invalid_token', resource_metadata: `${sut.url}/.well-known/oauth-protected-resource` });
    expect(await res.json()).toMatchObject({ statusCode: 401, error: 'invalid_token', message: expect.stringContaining('POST /oauth/revoke') });
  };

  it('a /mcp gmail.readonly token is refused at /auth/revoke (header, JSON and form body) and nothing of the account changes', async () => {
    const email = 'narrow-mcp@example.com';
    const { browser, narrow } = await userWithNarrowToken(email, '/mcp');
    const revocationsBefore = world.google.revocations.length;
    for (const how of ['header', 'json', 'form'] as const) await expectRefused(await post('/auth/revoke', narrow, how), `revoke by ${how}`);

    expect(world.google.revocations.length).toBe(revocationsBefore); // the Google grant is untouched
    expect(await objectExists(world, `credentials/${email}.json`)).toBe(true);
    expect(await objectExists(world, `sessions/${browser.session_id}.json`)).toBe(true);
    expect((await getWithBearer(sut, '/auth/session', browser.access_token)).status).toBe(200);
    expect((await getWithBearer(sut, '/v1/users/me/gmail/messages', browser.access_token)).status).toBe(200);
    expect(await mcpStatus(narrow)).toBe(200); // the token still works where it was issued for
  });

  it('a token for one Workspace API is refused at /auth/revoke too', async () => {
    const email = 'narrow-gmail@example.com';
    const { browser, narrow } = await userWithNarrowToken(email, '/v1/users/me/gmail');
    await expectRefused(await post('/auth/revoke', narrow), 'revoke');
    expect(await objectExists(world, `credentials/${email}.json`)).toBe(true);
    expect((await getWithBearer(sut, '/auth/session', browser.access_token)).status).toBe(200);
    expect((await getWithBearer(sut, '/v1/users/me/gmail/messages', narrow)).status).toBe(200);
  });

  it('the narrow token is refused at /auth/logout as at /auth/session, and keeps working on its resource', async () => {
    const { browser, narrow } = await userWithNarrowToken('narrow-logout@example.com', '/mcp');
    expect((await getWithBearer(sut, '/auth/session', narrow)).status).toBe(401); // the guard's answer on /auth/*
    await expectRefused(await post('/auth/logout', narrow), 'logout');
    expect(await mcpStatus(narrow)).toBe(200);
    expect((await getWithBearer(sut, '/auth/session', browser.access_token)).status).toBe(200);
  });

  it('its client still ends the narrow token at /oauth/revoke; the browser session and the credentials stay', async () => {
    const email = 'narrow-client-revokes@example.com';
    const { browser, narrow } = await userWithNarrowToken(email, '/mcp');
    const res = await fetch(`${sut.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: narrow, client_id: client.clientId }).toString(),
    });
    expect(res.status).toBe(200);
    expect(await mcpStatus(narrow)).toBe(401);
    expect((await getWithBearer(sut, '/auth/session', browser.access_token)).status).toBe(200);
    expect(await objectExists(world, `credentials/${email}.json`)).toBe(true);
  });

  it('the browser bearer still revokes everything, the narrow token\'s session included', async () => {
    const email = 'narrow-browser-revokes@example.com';
    const { browser, narrow } = await userWithNarrowToken(email, '/mcp');
    await expectRefused(await post('/auth/revoke', narrow), 'revoke'); // refused first: the later 200 is the browser's
    const res = await post('/auth/revoke', browser.access_token, 'json');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: true });
    expect(await objectExists(world, `credentials/${email}.json`)).toBe(false);
    expect((await getWithBearer(sut, '/auth/session', browser.access_token)).status).toBe(401);
    expect(await mcpStatus(narrow)).toBe(401);
  });

  it('an OAuth client\'s token for the whole service cannot revoke the account either (403): only the person\'s own sign-in can', async () => {
    const email = 'whole-service-client-revokes@example.com';
    const browser = await signIn(sut, world, email);
    const whole = (await client.tokens(email, { resource: sut.url }, new Browser())).access_token;
    const revocationsBefore = world.google.revocations.length;
    for (const how of ['header', 'json', 'form'] as const) {
      const res = await post('/auth/revoke', whole, how);
      expect([how, res.status]).toEqual([how, 403]);
      expect(await res.json()).toMatchObject({ error: 'client_token_not_allowed', message: expect.stringContaining('POST /oauth/revoke') });
    }
    expect(world.google.revocations.length).toBe(revocationsBefore);
    expect(await objectExists(world, `credentials/${email}.json`)).toBe(true);
    expect((await getWithBearer(sut, '/auth/session', browser.access_token)).status).toBe(200);
    expect((await getWithBearer(sut, '/auth/session', whole)).status).toBe(200); // refused, not ended
  });

  it('a whole-service token of an OAuth client is accepted at /auth/logout, as on /auth/session', async () => {
    const email = 'whole-service-client@example.com';
    const browser = await signIn(sut, world, email);
    const whole = (await client.tokens(email, { resource: sut.url }, new Browser())).access_token;
    expect((await getWithBearer(sut, '/auth/session', whole)).status).toBe(200);
    expect((await post('/auth/logout', whole)).status).toBe(204);
    expect((await getWithBearer(sut, '/auth/session', whole)).status).toBe(401);
    expect((await getWithBearer(sut, '/auth/session', browser.access_token)).status).toBe(200); // only that session ended
  });
});
