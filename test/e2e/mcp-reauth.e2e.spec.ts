import { jest } from '@jest/globals';
import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { getWithBearer, objectExists, Service, signIn, startService, startWorldWithService, stopAll, World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';
import { AppOAuthState, sdk, type AnyMcpClient } from '../support/mcp-oauth-app.js';
import { authorizeInBrowser, refreshGrant } from '../support/oauth-consent.js';
import { challengeParams } from '../support/oauth-tokens.js';

/**
 * Google revokes a user's grant (removed at myaccount.google.com, an admin reset, a password change) while an MCP
 * client holds tokens for them. The client must end up authorizing again, by the MCP authorization spec's HTTP path
 * (401 invalid_token -> refresh -> invalid_grant -> /oauth/authorize), not keep a token that fails at every call.
 */

const LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const GMAIL = '/v1/users/me/gmail/messages';
// The dead grant is believed after S3 was re-read for 2 * S3_TIMEOUT_MS + 2 s (DeadGrantGrace): 12 s here.
const SETTINGS = { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, S3_TIMEOUT_MS: '5000' };

interface ToolAnswer {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
}

/** The JSON body of a tool error. */
const errorBody = (answer: ToolAnswer) => JSON.parse(answer.content[0].text) as { statusCode: number; error: string; message: string };

describe('MCP: a user whose Google grant died is sent to authorize again, not left with tokens that fail', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService(SETTINGS));
  });
  afterAll(() => stopAll(world, sut));

  /** An MCP app (the v2 SDK client, OAuth provider only) connected to `service` for `email`: registration, consent, Google sign-in. */
  async function connectApp(email: string, service: { url: string } = sut): Promise<{ state: AppOAuthState; app: ReturnType<typeof sdk>; url: string }> {
    const state = new AppOAuthState();
    const url = `${service.url}/mcp`;
    const first = sdk('v2', url, state);
    await first.connect().catch(() => undefined); // 401: discovery, registration, then the authorization URL
    if (!state.authorizationUrl) throw new Error('the SDK did not start an authorization');
    const { location } = await authorizeInBrowser(world, state.authorizationUrl.toString(), email);
    await first.finish(location!);
    const app = sdk('v2', url, state);
    await app.connect();
    return { state, app, url };
  }

  const labels = (client: AnyMcpClient) => client.callTool({ name: 'list_gmail_labels', arguments: {} }) as Promise<ToolAnswer>;

  it('the tool call that finds the grant dead says to authorize again; the next request is 401 invalid_token; the refresh is invalid_grant; a new authorization restores the tools; another user is unaffected', async () => {
    const email = 'grant-dies@example.com';
    const mine = await connectApp(email);
    const theirs = await connectApp('grant-lives@example.com');
    try {
      expect((await labels(mine.app.client)).isError).toBeFalsy();
      world.google.revokeUser(email);

      // (a) The call during which Google says invalid_grant: a tool error that tells the person what happens next.
      const dead = await labels(mine.app.client);
      expect(dead.isError).toBe(true);
      const body = errorBody(dead);
      expect(body).toMatchObject({ statusCode: 401, error: 'reauth_required' });
      expect(body.message).not.toContain('/auth/google');
      expect(body.message).toMatch(/authorize .*again/i);
      expect(await objectExists(world, `credentials/${email}.json`)).toBe(false);

      // (b) The next request with that access token: HTTP 401 with the challenge that starts the client's OAuth flow.
      const { access_token: oldAccess, refresh_token: oldRefresh } = mine.state.tokenSet!;
      const next = await rawMcp(mine.url, oldAccess, LIST);
      expect(next.status).toBe(401);
      expect(challengeParams(next.headers.get('www-authenticate'))).toMatchObject({ error: 'invalid_token', resource_metadata: `${sut.url}/.well-known/oauth-protected-resource/mcp` });
      expect(oldRefresh).toEqual(expect.any(String));

      // (c) The SDK gets that 401, refreshes, is told invalid_grant (authorize again), drops its tokens and starts a
      // new authorization, rather than getting a fresh access token that fails again.
      const asked = mine.state.authorizationUrl;
      const answered = mine.state.tokenAnswers.length;
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined); // the v2 SDK reports the dropped tokens
      try {
        await expect(labels(mine.app.client)).rejects.toThrow();
      } finally {
        warn.mockRestore();
      }
      expect(mine.state.tokenAnswers.slice(answered)).toEqual([
        { status: 400, json: expect.objectContaining({ error: 'invalid_grant', error_description: expect.stringMatching(/authorize .*again/i) }) },
      ]);
      expect(mine.state.tokenSet).toBeUndefined();
      expect(mine.state.authorizationUrl).not.toBe(asked);

      // (d) The new authorization (consent, Google sign-in again) restores the grant, and the tools work.
      const { location } = await authorizeInBrowser(world, mine.state.authorizationUrl!.toString(), email);
      await mine.app.finish(location!);
      const again = sdk('v2', mine.url, mine.state);
      await again.connect();
      try {
        const restored = await labels(again.client);
        expect(restored.isError).toBeFalsy();
        expect(await objectExists(world, `credentials/${email}.json`)).toBe(true);
      } finally {
        await again.client.close();
      }

      // Another user's MCP client never noticed: same tokens, tools work, no refresh was needed, and its refresh token is good.
      const before = theirs.state.tokenSet!;
      expect((await labels(theirs.app.client)).isError).toBeFalsy();
      expect(theirs.state.tokenSet).toBe(before);
      expect(theirs.state.tokenAnswers.map((a) => a.status)).toEqual([200]); // the code exchange only
      expect((await refreshGrant(sut.url, String(theirs.state.client!.client_id), before.refresh_token!)).status).toBe(200);
    } finally {
      await mine.app.client.close();
      await theirs.app.client.close();
    }
  }, 120_000);

  it('a REST call that finds the grant dead answers 401 reauth_required as before; the MCP client of that user is then refused with 401 invalid_token, its refresh token with invalid_grant', async () => {
    const email = 'rest-finds@example.com';
    const mine = await connectApp(email);
    try {
      const browser = await signIn(sut, world, email);
      world.google.revokeUser(email);
      const rest = await getWithBearer(sut, GMAIL, browser.access_token);
      expect(rest.status).toBe(401);
      expect(await rest.json()).toMatchObject({ statusCode: 401, error: 'reauth_required', message: expect.stringContaining('/auth/google') });
      expect((await getWithBearer(sut, GMAIL, browser.access_token)).status).toBe(401);

      const next = await rawMcp(mine.url, mine.state.tokenSet!.access_token, LIST);
      expect(next.status).toBe(401);
      expect(challengeParams(next.headers.get('www-authenticate'))).toMatchObject({ error: 'invalid_token', resource_metadata: `${sut.url}/.well-known/oauth-protected-resource/mcp` });
      const refreshed = await refreshGrant(sut.url, String(mine.state.client!.client_id), mine.state.tokenSet!.refresh_token!);
      expect(refreshed.status).toBe(400);
      expect(refreshed.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/authorize .*again/i) });
    } finally {
      await mine.app.client.close();
    }
  }, 120_000);

  it('two replicas: the grant is found dead on one; the refresh token is invalid_grant on the other at once, though that one still holds the session in memory', async () => {
    // B serves the same PUBLIC_URL (one Service in front of both) and trusts its memory copy of a session for a
    // minute, so only S3 can tell it that A ended the session.
    const b = await startService(world, { ...SETTINGS, PUBLIC_URL: sut.url, SESSION_CACHE_TTL_MS: '60000' });
    const email = 'two-replicas@example.com';
    const mine = await connectApp(email);
    try {
      const bUrl = `${b.url}/mcp`;
      expect((await rawMcp(bUrl, mine.state.tokenSet!.access_token, LIST)).status).toBe(200); // B now holds the session
      world.google.revokeUser(email);
      const dead = await labels(mine.app.client); // on A
      expect(dead.isError).toBe(true);
      expect(errorBody(dead).error).toBe('reauth_required');

      const refreshed = await refreshGrant(b.url, String(mine.state.client!.client_id), mine.state.tokenSet!.refresh_token!);
      expect(refreshed.status).toBe(400);
      expect(refreshed.body).toMatchObject({ error: 'invalid_grant' });
    } finally {
      await mine.app.client.close();
      await b.close();
    }
  }, 120_000);
});
