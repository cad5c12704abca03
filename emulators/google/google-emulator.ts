import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';
import { ENDPOINTS, FailureInjector, FAILURES, isEndpoint, isFailure } from './failures.js';
import { GoogleState } from './google-state.js';
import { EmulatorRequest, json, param, readRequest } from './http-util.js';
import { OAuthRoutes } from './oauth-routes.js';
import type { GoogleEmulator, GoogleEmulatorOptions } from './emulator-controls.js';
import { StateFile } from './persistence.js';
import { readConsentForm, readErrorPage, readScopeCheckboxes } from './sign-in-page.js';
import { TokenRoutes } from './token-routes.js';
import { driveFiles, Kind, userItemIds } from './workspace-data.js';
import { WorkspaceRoutes } from './workspace-routes.js';
import { GOOGLE_DOC, GOOGLE_SHEET } from './workspace-api/drive-store.js';
import { parseMail } from './workspace-api/mime-parse.js';
import { contactIds } from './workspace-api/people-api.js';

export type { Endpoint, Failure } from './failures.js';
export type { ApiCall } from './google-state.js';

export type { GoogleEmulator, GoogleEmulatorOptions } from './emulator-controls.js';

const KIND: Record<'gmail' | 'drive' | 'calendar', Kind> = { gmail: 'm', drive: 'f', calendar: 'e' };

/** Ids of a user's seeded Drive files of one type (stateless: the same before and after the user is first seen). */
const seededOf = (email: string, mimeType: string) => driveFiles(email.trim().toLowerCase()).filter((f) => f.mimeType === mimeType).map((f) => f.id);

/**
 * Starts the emulator. oauth2-mock-server supplies the signing keys and the JWKS route (its express handler, with
 * the JWKS moved to Google's /oauth2/v3/certs) and signs the id_tokens; Google's stateful behaviour is built in
 * front of it: consent page, one-time codes, PKCE, the refresh-token-only-on-first-consent rule, refreshes without
 * refresh_token, invalid_grant after revocation, and the Workspace APIs. Its other, stateless routes
 * (/authorize issuing codes to anyone) are deliberately not reachable.
 */
export async function startGoogleEmulator(opts: GoogleEmulatorOptions = {}): Promise<GoogleEmulator> {
  const client = { id: opts.clientId ?? 'test-client-id', secret: opts.clientSecret ?? 'test-client-secret' };
  const issuer = new OAuth2Issuer();
  const mock = new OAuth2Service(issuer, { jwks: '/oauth2/v3/certs' });
  const state = new GoogleState(opts.accessTokenTtlSeconds ?? 3600);
  const failures = new FailureInjector();
  const oauth = new OAuthRoutes(state, client.id);
  const tokens = new TokenRoutes(state, issuer, client);
  const workspace = new WorkspaceRoutes(state, failures);
  const stateFile = opts.stateFile
    ? new StateFile(opts.stateFile, () => ({
        version: 1,
        signingKey: issuer.keys.toJSON(true)[0],
        google: state.snapshot(),
        workspace: workspace.store.snapshot(),
        drive: workspace.drive.snapshot(),
      }))
    : undefined;
  const saved = stateFile?.load() as { signingKey?: Record<string, unknown>; google?: object; workspace?: object; drive?: Map<string, never> } | undefined;
  // Google's signing keys outlive a restart too (id_tokens stay verifiable), and a new RSA key costs a noticeable
  // part of a restart's CPU time.
  if (saved?.signingKey) await issuer.keys.add(saved.signingKey);
  else await issuer.keys.generate('RS256');
  if (saved) {
    state.restore(saved.google ?? {});
    workspace.store.restore(saved.workspace ?? {});
    workspace.drive.restore(saved.drive);
  }
  let baseUrl = '';

  const route = async (req: EmulatorRequest, res: ServerResponse, raw: IncomingMessage): Promise<void> => {
    const path = req.url.pathname;
    const is = (method: string, ...paths: string[]) => req.method === method && paths.includes(path);
    // Google's current paths, plus the older ones some clients still use.
    if (is('GET', '/o/oauth2/v2/auth', '/o/oauth2/auth')) return oauth.authorize(req, res);
    if (is('POST', '/o/oauth2/v2/approve')) return oauth.decide(req, res);
    if (is('POST', '/token', '/oauth2/v4/token', '/o/oauth2/token')) {
      const endpoint = req.form.grant_type === 'refresh_token' ? 'refresh' : 'token';
      await failures.gate(endpoint);
      if (failures.apply(endpoint, res)) return;
      return tokens.token(req, res);
    }
    if (is('GET', '/v1/userinfo', '/oauth2/v3/userinfo')) {
      if (failures.apply('userinfo', res)) return;
      return oauth.userinfo(req, res);
    }
    if (is('POST', '/revoke', '/o/oauth2/revoke')) {
      const token = OAuthRoutes.revokedToken(req);
      if (token) state.revocations.push(token); // received, whatever the answer
      if (failures.apply('revoke', res)) return;
      return oauth.revoke(req, res);
    }
    if (is('GET', '/favicon.ico')) return void res.writeHead(204, { 'cache-control': 'public, max-age=86400' }).end(); // a browser asks on every page
    if (is('GET', '/.well-known/openid-configuration')) return json(res, 200, discovery());
    if (is('GET', '/oauth2/v3/certs')) return void mock.requestHandler(raw, res);
    if (path.startsWith('/__emulator/')) return control(req, res);
    const api = WorkspaceRoutes.apiOf(path);
    if (api) {
      await failures.gate('api');
      return workspace.handle(req, res, api);
    }
    json(res, 404, { error: 'not_found', error_description: `The Google emulator has no ${req.method} ${path}.` });
  };

  /** Google's discovery document, pointing at the emulator's routes. */
  const discovery = () => ({
    issuer: baseUrl,
    authorization_endpoint: emulator.urls.auth,
    token_endpoint: emulator.urls.token,
    userinfo_endpoint: emulator.urls.userinfo,
    revocation_endpoint: emulator.urls.revoke,
    jwks_uri: `${baseUrl}/oauth2/v3/certs`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'email', 'profile'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    claims_supported: ['aud', 'email', 'email_verified', 'exp', 'iat', 'iss', 'name', 'picture', 'sub', 'nonce', 'at_hash'],
    code_challenge_methods_supported: ['plain', 'S256'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
  });

  /** The controls over HTTP, for service replicas in other processes and for a person at `npm run start:local`. */
  const control = (req: EmulatorRequest, res: ServerResponse) => {
    const email = (param(req, 'email') ?? '').trim().toLowerCase();
    const needs = (method: string, needsEmail: boolean): boolean => {
      if (req.method !== method) json(res, 405, { error: 'method_not_allowed', error_description: `Use ${method}.` });
      else if (needsEmail && !email) json(res, 400, { error: 'invalid_request', error_description: 'Pass ?email=' });
      else return true;
      return false;
    };
    switch (req.url.pathname) {
      case '/__emulator/expire':
        if (needs('POST', true)) json(res, 200, { email, expired: state.expireAccessTokens(email) });
        return;
      case '/__emulator/revoke-user':
        if (needs('POST', true)) json(res, 200, { email, revoked: true }, void state.revokeUser(email));
        return;
      case '/__emulator/kill-refresh-tokens':
        if (needs('POST', true)) json(res, 200, { email, killed: state.killRefreshTokens(email) });
        return;
      case '/__emulator/refresh-count':
        if (needs('GET', false)) json(res, 200, { email: email || null, count: state.refreshCount(email || undefined) });
        return;
      case '/__emulator/fail-next': {
        if (!needs('POST', false)) return;
        const endpoint = param(req, 'endpoint');
        const failure = param(req, 'failure');
        if (!isEndpoint(endpoint) || !isFailure(failure)) {
          return json(res, 400, { error: 'invalid_request', error_description: `endpoint: one of ${ENDPOINTS.join(', ')}; failure: one of ${FAILURES.join(', ')}` });
        }
        failures.schedule(endpoint, failure);
        return json(res, 200, { endpoint, failure });
      }
      case '/__emulator/rotation': {
        if (!needs('POST', false)) return;
        const on = param(req, 'on');
        if (on !== 'true' && on !== 'false') return json(res, 400, { error: 'invalid_request', error_description: 'Pass ?on=true or ?on=false' });
        state.rotateRefreshTokens = on === 'true';
        return json(res, 200, { rotation: state.rotateRefreshTokens });
      }
      case '/__emulator/omit-refresh-token':
        if (needs('POST', false)) json(res, 200, { omitted: 'next code exchange' }, void (state.omitRefreshTokenOnce = true));
        return;
      case '/__emulator/log':
        if (needs('GET', false)) json(res, 200, { revocations: state.revocations, apiCalls: state.apiCalls, refreshCount: state.refreshCount() });
        return;
      default:
        return json(res, 404, { error: 'not_found', error_description: 'Controls: expire, revoke-user, kill-refresh-tokens, refresh-count, fail-next, rotation, omit-refresh-token, log.' });
    }
  };

  const server = createServer((raw, res) => {
    readRequest(raw, baseUrl)
      .then((req) => route(req, res, raw))
      .then(() => stateFile?.saveSoon())
      .catch((err: Error) => {
        if (!res.headersSent) json(res, 500, { error: 'emulator_error', error_description: err.message });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  issuer.url = baseUrl;
  let stopped: Promise<void> | undefined;

  const emulator: GoogleEmulator = {
    baseUrl,
    clientId: client.id,
    clientSecret: client.secret,
    urls: { auth: `${baseUrl}/o/oauth2/v2/auth`, token: `${baseUrl}/token`, userinfo: `${baseUrl}/v1/userinfo`, revoke: `${baseUrl}/revoke`, apiRoot: `${baseUrl}/` },
    async approve(authorizeUrl, user) {
      const page = await fetch(authorizeUrl, { redirect: 'manual' });
      const text = await page.text();
      const form = page.status === 200 ? readConsentForm(text) : undefined;
      if (!form) throw new Error(`Google's sign-in page refused the authorize request (${page.status}): ${readErrorPage(text)}`);
      const body = new URLSearchParams({ ...form.fields, email: user.email, decision: user.deny ? 'deny' : 'allow' });
      for (const [name, scope] of Object.entries(readScopeCheckboxes(text))) if (!user.withhold?.includes(scope)) body.set(name, scope);
      if (user.emailVerified ?? true) body.set('email_verified', 'true'); // the ticked checkbox
      const res = await fetch(new URL(form.action, authorizeUrl), {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`Google's consent form was refused (${res.status}): ${readErrorPage(await res.text())}`);
      return location;
    },
    expireAccessTokens: (email, opts) => void state.expireAccessTokens(email.trim().toLowerCase(), opts?.olderThanMs),
    revokeUser: (email) => state.revokeUser(email.trim().toLowerCase()),
    killRefreshTokens: (email) => void state.killRefreshTokens(email.trim().toLowerCase()),
    refreshCount: (email) => state.refreshCount(email?.trim().toLowerCase()),
    failNext: (endpoint, failure) => failures.schedule(endpoint, failure),
    rotateRefreshTokens: (on) => void (state.rotateRefreshTokens = on),
    refreshTokenWorks: (token) => state.isLiveRefreshToken(token),
    holdNext: (endpoint) => failures.holdNext(endpoint),
    omitRefreshTokenOnNextCodeExchange: () => void (state.omitRefreshTokenOnce = true),
    messageIds: (email) => userItemIds(email.trim().toLowerCase(), 'm'),
    itemIds: (api, email) => userItemIds(email.trim().toLowerCase(), KIND[api]),
    driveFile: (email, id) => workspace.drive.files(email.trim().toLowerCase()).get(id),
    shareDriveFile: (ownerEmail, id, withEmail, role) => workspace.drive.share(ownerEmail.trim().toLowerCase(), id, withEmail.trim().toLowerCase(), role),
    documentIds: (email) => seededOf(email, GOOGLE_DOC),
    spreadsheetId: (email) => seededOf(email, GOOGLE_SHEET)[0],
    contactIds: (email) => contactIds(email.trim().toLowerCase()),
    draft: (email, id) => {
      const raw = workspace.store.draftsOf(email.trim().toLowerCase()).get(id);
      return raw === undefined ? undefined : parseMail(raw);
    },
    revocations: state.revocations,
    apiCalls: state.apiCalls,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        stateFile?.saveNow();
        failures.releaseAll(); // 'timeout' requests would otherwise keep their sockets, and jest, alive
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
  return emulator;
}
