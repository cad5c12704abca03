import { jest } from '@jest/globals';
import { SignJWT } from 'jose';
import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { JWT_SECRET, Service, signIn, startWorldWithService, stopAll, World } from '../support/harness.js';
import { claimsOf } from '../support/oauth-tokens.js';
import { authorizeInBrowser, refreshGrant } from '../support/oauth-consent.js';
import { APP_REDIRECT, AppOAuthState, sdk } from '../support/mcp-oauth-app.js';

const REDIRECT = APP_REDIRECT;

describe('MCP with OAuth end to end: the SDK client starts with no token', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES }));
  });
  afterAll(() => stopAll(world, sut));

  for (const which of ['v2', 'v1'] as const) {
    it(`${which} client: 401 -> discovery -> registration -> consent -> Google sign-in -> token -> tools -> refresh -> revoke -> 401`, async () => {
      const email = `mcp-oauth-${which}@example.com`;
      const state = new AppOAuthState();
      const url = `${sut.url}/mcp`;
      const first = sdk(which, url, state);
      // No token: the 401 sends the SDK through discovery and registration to the authorization URL.
      const refused = await first.connect().then(() => undefined, (e: Error) => e);
      if (!state.client) throw new Error(`no registration: ${refused?.message}`);
      expect(state.client?.client_id).toEqual(expect.any(String));
      expect(state.authorizationUrl?.toString()).toContain(`${sut.url}/oauth/authorize`);
      expect(state.authorizationUrl?.searchParams.get('resource')).toBe(url);
      const { location, consentPages } = await authorizeInBrowser(world, state.authorizationUrl!.toString(), email);
      expect(consentPages.map((p) => p.host)).toEqual(['127.0.0.1:8766']); // the person saw whom they were approving
      expect(location?.origin + location!.pathname).toBe(REDIRECT);
      await first.finish(location!);
      expect(state.tokenSet?.access_token).toEqual(expect.any(String));

      const app = sdk(which, url, state);
      await app.connect();
      try {
        expect((await app.client.listTools()).tools.length).toBeGreaterThan(30);
        const found = (await app.client.callTool({ name: 'search_gmail_messages', arguments: {} })) as { structuredContent: { messages: Array<{ id: string }> } };
        expect(world.google.messageIds(email)).toEqual(expect.arrayContaining(found.structuredContent.messages.map((m) => m.id)));

        // The access token expires: the very same claims, signed with the service's key, an hour older (JWT_TTL_SECONDS
        // cannot go below 60 s, too long to wait for here). The service refuses it; the SDK refreshes and retries.
        const old = state.tokenSet!;
        const now = Math.floor(Date.now() / 1000);
        const resign = (iat: number, exp: number) =>
          new SignJWT({ ...claimsOf(old.access_token), iat, exp }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JWT_SECRET));
        const list = async (token: string) =>
          fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{}}' });
        expect((await list(await resign(now, now + 600))).status).toBe(200); // the re-signed claims are good ones...
        const expired = await resign(now - 3600, now - 1);
        const refusedExpired = await list(expired); // ...so this one is refused for its expiry alone
        expect(refusedExpired.status).toBe(401);
        expect(refusedExpired.headers.get('www-authenticate')).toContain('error="invalid_token"');
        state.tokenSet = { ...old, access_token: expired };
        const labels = (await app.client.callTool({ name: 'list_gmail_labels', arguments: {} })) as { isError?: boolean };
        expect(labels.isError).toBeFalsy();
        expect(state.tokenSet.access_token).not.toBe(old.access_token);
        expect(state.tokenSet.refresh_token).not.toBe(old.refresh_token); // rotated

        // The person revokes with their own browser bearer (the app's /mcp token may not end the account: 401): the
        // next tool call fails with 401 (the SDK then finds its refresh token dead as well).
        expect((await fetch(`${sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${state.tokenSet.access_token}` } })).status).toBe(401);
        const revoked = await fetch(`${sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${(await signIn(sut, world, email)).access_token}` } });
        expect(revoked.status).toBe(200);
        const raw = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${state.tokenSet.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{}}' });
        expect(raw.status).toBe(401);
        const refreshToken = state.tokenSet.refresh_token!;
        const clientId = String(state.client!.client_id);
        // The v2 SDK reports on the console that it drops the dead tokens (v1 does it silently): asserted, not printed.
        const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
        try {
          await expect(app.client.callTool({ name: 'list_gmail_labels', arguments: {} })).rejects.toThrow();
          const warned = warn.mock.calls.map((c) => String(c[0])).join('\n');
          expect(warned).toMatch(which === 'v2' ? /invalid_grant.*invalidating the stored tokens/ : /^$/);
        } finally {
          warn.mockRestore();
        }
        expect(state.tokenSet).toBeUndefined(); // the SDK was told invalid_grant and dropped the dead tokens
        expect((await refreshGrant(sut.url, clientId, refreshToken)).status).toBe(400);
      } finally {
        await app.client.close();
      }
    });
  }
});
