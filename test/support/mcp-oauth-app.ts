import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const APP_REDIRECT = 'http://127.0.0.1:8766/callback';

/** What the service's token endpoint answered the app (status and JSON body), in order. */
export interface TokenEndpointAnswer {
  status: number;
  json: { access_token?: string; refresh_token?: string; error?: string; error_description?: string; [k: string]: unknown };
}

/** An MCP client app's OAuth state, as the SDK's OAuthClientProvider asks for it (kept in memory, like a CLI would). */
export class AppOAuthState {
  client?: Record<string, unknown>;
  tokenSet?: { access_token: string; refresh_token?: string; [k: string]: unknown };
  verifier = '';
  authorizationUrl?: URL;
  /** Every answer of /oauth/token the SDK got through this app's fetch (see sdk). */
  readonly tokenAnswers: TokenEndpointAnswer[] = [];
  constructor(
    readonly name = 'MCP spec app',
    readonly redirectUrl = APP_REDIRECT,
  ) {}
  get clientMetadata() {
    return { client_name: this.name, redirect_uris: [this.redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.client as never;
  }
  saveClientInformation(info: Record<string, unknown>) {
    this.client = info;
  }
  tokens() {
    return this.tokenSet as never;
  }
  saveTokens(tokens: { access_token: string; refresh_token?: string }) {
    this.tokenSet = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  discovery?: unknown;
  saveDiscoveryState(state: unknown) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery as never;
  }
  /** What a real client does when the server says a credential is dead (invalid_grant, invalid_client, ...). */
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'client') this.client = undefined;
    if (scope === 'all' || scope === 'tokens') this.tokenSet = undefined;
    if (scope === 'all' || scope === 'verifier') this.verifier = '';
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }
}

export type AnyMcpClient = { callTool(p: { name: string; arguments: Record<string, unknown> }): Promise<unknown>; listTools(): Promise<{ tools: unknown[] }>; close(): Promise<void> };

/**
 * The test services share one issuer name (JWT_ISSUER https://broker.test, as replicas behind one Service do), which
 * does not resolve here: this fetch sends it to the service, as DNS would in production. Answers of the token
 * endpoint are noted in `answers`.
 */
export const issuerFetch = (serviceUrl: string, answers?: TokenEndpointAnswer[]) =>
  (async (input: string | URL | Request, init?: RequestInit) => {
    const url = (typeof input === 'string' || input instanceof URL ? String(input) : input.url).replace(/^https:\/\/broker\.test/, serviceUrl);
    const res = await fetch(url, init);
    if (answers && new URL(url).pathname === '/oauth/token') {
      answers.push({ status: res.status, json: (await res.clone().json().catch(() => ({}))) as TokenEndpointAnswer['json'] });
    }
    return res;
  }) as typeof fetch;

/** The v2 or the v1 official client, with the OAuth provider and nothing else: no token given by hand. */
export function sdk(which: 'v2' | 'v1', url: string, state: AppOAuthState): { client: AnyMcpClient; connect(): Promise<void>; finish(callback: URL): Promise<void> } {
  const fetchVia = issuerFetch(new URL(url).origin, state.tokenAnswers);
  if (which === 'v2') {
    const client = new Client({ name: 'oauth-app-v2', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: state as never, fetch: fetchVia });
    return { client: client as unknown as AnyMcpClient, connect: () => client.connect(transport), finish: (cb) => transport.finishAuth(cb.searchParams) };
  }
  const client = new V1Client({ name: 'oauth-app-v1', version: '1.0.0' });
  const transport = new V1Transport(new URL(url), { authProvider: state as never, fetch: fetchVia });
  return { client: client as unknown as AnyMcpClient, connect: () => client.connect(transport), finish: (cb) => transport.finishAuth(cb.searchParams.get('code')!) };
}
