import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';
import { Endpoint, Failure, GoogleState } from './google-state.js';
import { EmulatorRequest, json, readRequest } from './http-util.js';
import { OAuthRoutes } from './oauth-routes.js';
import { userItemIds, WorkspaceRoutes } from './workspace-routes.js';

export interface GoogleEmulatorOptions {
  port?: number;
  clientId?: string;
  clientSecret?: string;
  accessTokenTtlSeconds?: number;
}

/** A Google stand-in for tests and the local run, with controls to make it misbehave like the real one can. */
export interface GoogleEmulator {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly urls: { auth: string; token: string; userinfo: string; revoke: string; apiRoot: string };
  /** Acts as the person on the consent page: returns the redirect back to the client (code, or error). */
  approve(authorizeUrl: string, user: { email: string; emailVerified?: boolean; deny?: boolean }): Promise<string>;
  expireAccessTokens(email: string): void;
  revokeUser(email: string): void;
  refreshCount(email?: string): number;
  failNext(endpoint: Endpoint, failure: Failure): void;
  omitRefreshTokenOnNextCodeExchange(): void;
  /** Ids of the user's emulated Gmail messages. */
  messageIds(email: string): string[];
  readonly revocations: string[];
  readonly apiCalls: ReadonlyArray<{ email: string; api: 'gmail' | 'drive' | 'calendar'; path: string }>;
  stop(): Promise<void>;
}

/**
 * Starts the emulator. oauth2-mock-server provides the issuer, signing keys, discovery document and JWKS (its
 * handler serves every path not routed here); Google's stateful behaviour is added in front of it: one-time codes,
 * PKCE, the refresh-token-only-on-first-consent rule, refreshes without refresh_token, invalid_grant after
 * revocation, and the Workspace list routes.
 */
export async function startGoogleEmulator(opts: GoogleEmulatorOptions = {}): Promise<GoogleEmulator> {
  const client = { id: opts.clientId ?? 'test-client-id', secret: opts.clientSecret ?? 'test-client-secret' };
  const mock = new OAuth2Server();
  await mock.issuer.keys.generate('RS256');
  const state = new GoogleState(opts.accessTokenTtlSeconds ?? 3600);
  const oauth = new OAuthRoutes(state, mock.issuer, client);
  const workspace = new WorkspaceRoutes(state);
  const hanging = new Set<ServerResponse>();
  let baseUrl = '';

  const failIfAsked = (endpoint: Endpoint, res: ServerResponse): boolean => {
    const failure = state.takeFailure(endpoint);
    if (!failure) return false;
    if (failure === 'timeout') hanging.add(res); // never answered; released by stop()
    else if (failure === 'server_error') json(res, 503, { error: 'backend_error', error_description: 'The service is currently unavailable.' });
    else json(res, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
    return true;
  };

  const route = async (req: EmulatorRequest, res: ServerResponse, raw: IncomingMessage): Promise<void> => {
    const path = req.url.pathname;
    if (path === '/o/oauth2/v2/auth' && req.method === 'GET') return oauth.authorize(req, res);
    if (path === '/o/oauth2/v2/approve' && req.method === 'POST') return oauth.approve(req, res);
    if (path === '/token' && req.method === 'POST') {
      if (failIfAsked(req.form.grant_type === 'refresh_token' ? 'refresh' : 'token', res)) return;
      return oauth.token(req, res);
    }
    if ((path === '/v1/userinfo' || path === '/oauth2/v3/userinfo') && req.method === 'GET') {
      if (failIfAsked('userinfo', res)) return;
      return oauth.userinfo(req, res);
    }
    if (path === '/revoke' && req.method === 'POST') {
      if (failIfAsked('revoke', res)) return;
      return oauth.revoke(req, res);
    }
    if (path.startsWith('/__emulator/')) return control(req, res);
    if (/^\/(gmail|drive|calendar)\//.test(path) && failIfAsked('api', res)) return;
    if (workspace.handle(req, res)) return;
    mock.service.requestHandler(raw, res); // discovery, JWKS
  };

  const control = (req: EmulatorRequest, res: ServerResponse) => {
    const email = (req.url.searchParams.get('email') ?? '').toLowerCase();
    switch (req.url.pathname) {
      case '/__emulator/expire':
        state.expireAccessTokens(email);
        return json(res, 200, { expired: email });
      case '/__emulator/revoke-user':
        state.revokeUser(email);
        return json(res, 200, { revoked: email });
      case '/__emulator/refresh-count':
        return json(res, 200, { email, count: emulator.refreshCount(email || undefined) });
      case '/__emulator/fail-next':
        emulator.failNext(req.url.searchParams.get('endpoint') as Endpoint, req.url.searchParams.get('failure') as Failure);
        return json(res, 200, { ok: true });
      default:
        return json(res, 404, { error: 'unknown control' });
    }
  };

  const server: Server = createServer((raw, res) => {
    readRequest(raw, baseUrl)
      .then((req) => route(req, res, raw))
      .catch((err: Error) => {
        if (!res.headersSent) json(res, 500, { error: 'emulator_error', error_description: err.message });
      });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  mock.issuer.url = baseUrl;

  const emulator: GoogleEmulator = {
    baseUrl,
    clientId: client.id,
    clientSecret: client.secret,
    urls: { auth: `${baseUrl}/o/oauth2/v2/auth`, token: `${baseUrl}/token`, userinfo: `${baseUrl}/v1/userinfo`, revoke: `${baseUrl}/revoke`, apiRoot: `${baseUrl}/` },
    async approve(authorizeUrl, user) {
      const page = await fetch(authorizeUrl, { redirect: 'manual' });
      const text = await page.text();
      const requestId = /name="request" value="([^"]+)"/.exec(text)?.[1];
      if (page.status !== 200 || !requestId) throw new Error(`consent page refused the request: ${page.status} ${text}`);
      const res = await fetch(`${baseUrl}/o/oauth2/v2/approve`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request: requestId, email: user.email, email_verified: String(user.emailVerified ?? true), decision: user.deny ? 'deny' : 'allow' }),
      });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`approve failed: ${res.status}`);
      return location;
    },
    expireAccessTokens: (email) => state.expireAccessTokens(email.toLowerCase()),
    revokeUser: (email) => state.revokeUser(email.toLowerCase()),
    refreshCount: (email) => (email ? (state.refreshes.get(email.toLowerCase()) ?? 0) : [...state.refreshes.values()].reduce((a, b) => a + b, 0)),
    failNext: (endpoint, failure) => void state.failures.set(endpoint, failure),
    omitRefreshTokenOnNextCodeExchange: () => void (state.omitRefreshTokenOnce = true),
    messageIds: (email) => userItemIds(email.toLowerCase(), 'm'),
    revocations: state.revocations,
    apiCalls: state.apiCalls,
    async stop() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return emulator;
}
