import { createHash, randomBytes } from 'node:crypto';
import type { Endpoint, World } from './harness.js';
import { Browser } from './http-client.js';
import { authorizeInBrowser, authorizeUrl, type AuthorizeOptions } from './oauth-consent.js';

export const REDIRECT = 'http://127.0.0.1:8766/callback';

/** A browser that also notes every authorize URL it was sent to at Google (to see what the service asked for). */
export class WatchedBrowser extends Browser {
  readonly googleRequests: URL[] = [];

  constructor(private readonly googleAuthUrl: string) {
    super();
  }

  override async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await super.get(url, headers);
    const location = res.headers.get('location');
    if (location?.startsWith(this.googleAuthUrl)) this.googleRequests.push(new URL(location));
    return res;
  }

  override async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const res = await super.post(url, form, headers);
    const location = res.headers.get('location');
    if (location?.startsWith(this.googleAuthUrl)) this.googleRequests.push(new URL(location));
    return res;
  }

  /** The scopes the last request to Google asked for. */
  lastGoogleScopes(): string[] {
    return (this.googleRequests.at(-1)?.searchParams.get('scope') ?? '').split(' ').filter(Boolean);
  }
}

/** The token endpoint's answer. */
export interface TokenAnswer {
  status: number;
  json: { access_token?: string; refresh_token?: string; scope?: string; error?: string; error_description?: string; [k: string]: unknown };
}

/** The claims inside a bearer JWT (read, not verified: the service verifies). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
}

/** A dynamically registered public OAuth client of a service, driven over HTTP as an MCP client would. */
export class OAuthTestClient {
  private constructor(
    private readonly service: Endpoint,
    private readonly world: World,
    readonly clientId: string,
  ) {}

  /** Registers a public client (authorization_code + refresh_token). */
  static async register(service: Endpoint, world: World): Promise<OAuthTestClient> {
    const res = await fetch(`${service.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', client_name: 'scope tester' }),
    });
    if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
    return new OAuthTestClient(service, world, ((await res.json()) as { client_id: string }).client_id);
  }

  /**
   * Authorizes in `browser` as `email` (our consent page: Allow; Google: allow) with `extra` parameters (scope,
   * resource), then exchanges the code. Answers the redirect back when it carries no code.
   */
  async authorize(email: string, extra: Record<string, string>, browser: Browser, google: AuthorizeOptions['google'] = {}): Promise<{ callback: URL; tokens?: TokenAnswer }> {
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(8).toString('hex');
    const url = authorizeUrl(this.service.url, {
      client_id: this.clientId,
      redirect_uri: REDIRECT,
      response_type: 'code',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state,
      ...extra,
    });
    const { location, stoppedAt } = await authorizeInBrowser(this.world, url, email, { browser, google });
    if (!location) throw new Error(`the authorization stopped at ${stoppedAt?.status}: ${await stoppedAt?.text()}`);
    const code = location.searchParams.get('code');
    if (!code) return { callback: location };
    expect(location.searchParams.get('state')).toBe(state);
    const tokens = await this.token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT });
    return { callback: location, tokens };
  }

  /** Like authorize, but fails unless a token came back; answers the token response. */
  async tokens(email: string, extra: Record<string, string>, browser: Browser): Promise<TokenAnswer['json'] & { access_token: string }> {
    const { callback, tokens } = await this.authorize(email, extra, browser);
    if (tokens?.status !== 200) throw new Error(`no token: ${callback} ${JSON.stringify(tokens?.json)}`);
    return tokens.json as TokenAnswer['json'] & { access_token: string };
  }

  /** POST /oauth/token as this client. */
  async token(form: Record<string, string>): Promise<TokenAnswer> {
    const res = await fetch(`${this.service.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: this.clientId, ...form }),
    });
    return { status: res.status, json: (await res.json()) as TokenAnswer['json'] };
  }
}

/** Every Workspace route of the service's OpenAPI document, with `{userId}` = `me` and other parameters filled in. */
export async function workspaceRoutes(service: Endpoint): Promise<Array<{ method: string; path: string; template: string }>> {
  const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths)
    .filter(([template]) => template.startsWith('/v1/users/'))
    .flatMap(([template, methods]) =>
      Object.keys(methods).map((m) => ({ method: m.toUpperCase(), template, path: template.replace(/\{(\w+)\}/g, (_x, name: string) => (name === 'userId' ? 'me' : 'abc123')) })),
    );
}

/** The WWW-Authenticate parameters of a Bearer challenge, by name. */
export function challengeParams(header: string | null): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...(header as string).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}
