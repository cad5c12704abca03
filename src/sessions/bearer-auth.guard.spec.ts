import { jest } from '@jest/globals';
import { JwtService } from '@nestjs/jwt';
import { Reflector } from '@nestjs/core';
import type { ExecutionContext } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { UnauthorizedError } from '../common/domain-error.js';
import { BearerAuthGuard } from './bearer-auth.guard.js';
import { BearerTokenService } from './bearer-token.service.js';
import { ProtectedResources } from './protected-resources.js';
import { PRINCIPAL } from './principal.js';
import type { Session } from './session.js';
import type { SessionStore } from './session.store.js';

const BASE = 'https://broker.example.com';
const MCP_HINT = 'Connect this application again.';

/** The guard with a real token service and resource registry, and an in-memory session store. */
function world() {
  const config = { values: { publicUrl: BASE, jwt: { algorithm: 'HS256', secret: 'k'.repeat(48), issuer: BASE, audience: 'workspace-api', ttlSeconds: 3600 } } } as unknown as AppConfig;
  const resources = new ProtectedResources(config);
  resources.register({ path: '/mcp', routes: ['/mcp'], name: 'MCP', scopesSupported: [], scopesToRequest: [], signInHint: MCP_HINT });
  resources.register({ path: '/v1/users/me/drive', routes: ['/v1/users/:userId/drive'], name: 'Drive', scopesSupported: [], scopesToRequest: [] });
  const tokens = new BearerTokenService(new JwtService(), config, resources);
  const live = new Map<string, Session>();
  const sessions = { find: async (sid: string) => live.get(sid) } as unknown as SessionStore;
  const guard = new BearerAuthGuard(new Reflector(), tokens, sessions, resources);
  const signIn = async (email: string, sid: string, resource?: string) => {
    const session = { email, sessionId: sid, expiresAtMs: Date.now() + 3_600_000 } as Session;
    live.set(sid, session);
    return (await tokens.issue(session, resource ? { audience: resource } : undefined)).accessToken;
  };
  return { guard, tokens, live, signIn };
}

type FakeRequest = { headers: Record<string, unknown>; routeOptions: { url: string }; [key: symbol]: unknown };

function request(url: string, token?: string): FakeRequest {
  return { headers: token ? { authorization: `Bearer ${token}` } : {}, routeOptions: { url } };
}

function contextOf(req: FakeRequest): ExecutionContext {
  class Controller {}
  return { getClass: () => Controller, getHandler: () => function handler() {}, getArgByIndex: () => req } as unknown as ExecutionContext;
}

/** Runs the onRequest hook as Fastify would and returns what it passed to done(). */
function beforeBody(guard: BearerAuthGuard, req: FakeRequest): Error | undefined {
  let outcome: Error | undefined | null = null;
  guard.beforeBody().call(undefined as never, req as never, {} as never, (err?: Error) => (outcome = err));
  expect(outcome).not.toBeNull();
  return outcome ?? undefined;
}

describe('BearerAuthGuard with the before-body check of the upload routes', () => {
  it('refuses before the body a request with no token, a forged token, or a token for another resource', async () => {
    const { guard, signIn } = world();
    expect(beforeBody(guard, request('/mcp'))).toBeInstanceOf(UnauthorizedError);
    const token = await signIn('alice@example.com', 'sid-a', `${BASE}/v1/users/me/drive`);
    const forged = `${token.slice(0, -2)}xx`;
    expect(beforeBody(guard, request('/mcp', forged))).toBeInstanceOf(UnauthorizedError);
    const elsewhere = beforeBody(guard, request('/mcp', token));
    expect(elsewhere).toBeInstanceOf(UnauthorizedError);
    expect((elsewhere as Error).message).toContain(`resource=${BASE}/mcp`);
  });

  it('verifies the signature once per request, and the guard still answers for the session', async () => {
    const { guard, tokens, live, signIn } = world();
    const token = await signIn('alice@example.com', 'sid-a', `${BASE}/mcp`);
    const verify = jest.spyOn(tokens, 'verify');

    const accepted = request('/mcp', token);
    expect(beforeBody(guard, accepted)).toBeUndefined();
    await expect(guard.canActivate(contextOf(accepted))).resolves.toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
    expect((accepted[PRINCIPAL] as { email: string }).email).toBe('alice@example.com');

    // The session ended after the hook accepted the token: the guard's session lookup still refuses it.
    const late = request('/mcp', token);
    expect(beforeBody(guard, late)).toBeUndefined();
    live.delete('sid-a');
    await expect(guard.canActivate(contextOf(late))).rejects.toMatchObject({ error: 'session_ended' });
  });

  it('verifies the token itself on routes without the hook', async () => {
    const { guard, tokens, signIn } = world();
    const token = await signIn('alice@example.com', 'sid-a');
    const verify = jest.spyOn(tokens, 'verify');
    await expect(guard.canActivate(contextOf(request('/auth/session', token)))).resolves.toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
    await expect(guard.canActivate(contextOf(request('/auth/session', `${token.slice(0, -2)}xx`)))).rejects.toMatchObject({ error: 'invalid_token' });
  });
});

describe('BearerAuthGuard: the next step each 401 names', () => {
  /** The message of the guard's refusal of `req` (at the guard, and before the body where the route has the hook). */
  async function refusal(guard: BearerAuthGuard, req: FakeRequest): Promise<string> {
    const err = await guard.canActivate(contextOf(req)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    return (err as Error).message;
  }

  it("a resource with its own hint names it in every 401 (none, unreadable, forged, ended, another resource's); the others name /auth/google", async () => {
    const { guard, live, signIn } = world();
    const live1 = await signIn('alice@example.com', 'sid-a');
    const ended = await signIn('alice@example.com', 'sid-b');
    live.delete('sid-b');
    const drive = await signIn('alice@example.com', 'sid-c', `${BASE}/v1/users/me/drive`);
    const tries: Array<[string, string | undefined]> = [
      ['none', undefined],
      ['unreadable', `Bearer "${live1}"`],
      ['forged', `Bearer ${live1.slice(0, -2)}xx`],
      ['ended', `Bearer ${ended}`],
      ['another resource', `Bearer ${drive}`],
    ];
    for (const [what, authorization] of tries) {
      const at = (url: string): FakeRequest => ({ headers: authorization ? { authorization } : {}, routeOptions: { url } });
      const mcp = await refusal(guard, at('/mcp'));
      expect({ what, hint: mcp.endsWith(MCP_HINT), browser: mcp.includes('/auth/google') }).toEqual({ what, hint: true, browser: false });
      expect({ what, early: beforeBody(guard, at('/mcp'))?.message ?? mcp }).toEqual({ what, early: mcp });
      if (what === 'another resource') continue; // a Drive token is good on Drive's own routes
      const rest = await refusal(guard, at('/v1/users/:userId/drive/files'));
      expect({ what, browser: rest.includes('Sign in at /auth/google'), hint: rest.includes(MCP_HINT) }).toEqual({ what, browser: true, hint: false });
    }
  });
});
