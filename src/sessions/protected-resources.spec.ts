import { selectResourceURL, type OAuthClientProvider } from '@modelcontextprotocol/client';
import type { AppConfig } from '../config/app-config.js';
import { parseConfig } from '../config/config.schema.js';
import { insufficientScopeChallenge, unauthorizedChallenge } from './bearer-challenge.js';
import { ProtectedResources } from './protected-resources.js';

const BASE = 'https://broker.example.com';

function resources(): ProtectedResources {
  const r = new ProtectedResources({ values: { publicUrl: BASE, jwt: { audience: 'workspace-api' } } } as unknown as AppConfig);
  r.register({ path: '/v1', routes: ['/v1'], name: 'REST', scopesSupported: ['g1', 'g2', 'd1'], scopesToRequest: ['g1', 'd1'] });
  r.register({ path: '/v1/users/me/gmail', routes: ['/v1/users/:userId/gmail'], name: 'Gmail', scopesSupported: ['g1', 'g2'], scopesToRequest: ['g1'] });
  r.register({ path: '/v1/users/me/drive', routes: ['/v1/users/:userId/drive'], name: 'Drive', scopesSupported: ['d1'], scopesToRequest: ['d1'] });
  r.register({ path: '/mcp', routes: ['/mcp'], name: 'MCP', scopesSupported: ['g1', 'd1'], scopesToRequest: ['g1'] });
  return r;
}

describe('protected resources', () => {
  const r = resources();
  const gmail = r.forRoute('/v1/users/:userId/gmail/messages/:messageId');

  it('a route belongs to its narrowest resource; anything else to the whole service', () => {
    expect(gmail.identifier).toBe(`${BASE}/v1/users/me/gmail`);
    expect(r.forRoute('/v1/users/:userId/gmail').path).toBe('/v1/users/me/gmail');
    expect(r.forRoute('/v1/users/:userId/gmailx/y').path).toBe('/v1');
    expect(r.forRoute('/mcp').path).toBe('/mcp');
    expect(r.forRoute('/mcpx').path).toBe('');
    expect(r.forRoute('/auth/session').identifier).toBe(BASE);
    expect(r.forRoute(undefined).path).toBe('');
  });

  it('an audience covers its own resource and those below it, never a sibling', () => {
    const drive = r.forRoute('/v1/users/:userId/drive/files');
    const mcp = r.forRoute('/mcp');
    expect(r.covers(`${BASE}/v1/users/me/gmail`, gmail)).toBe(true);
    expect(r.covers(`${BASE}/v1/users/me/gmail`, drive)).toBe(false);
    expect(r.covers(`${BASE}/v1/users/me/gmail`, r.root)).toBe(false);
    expect(r.covers(`${BASE}/v1`, drive)).toBe(true);
    expect(r.covers(`${BASE}/v1`, mcp)).toBe(false);
    expect(r.covers(`${BASE}/mcp`, mcp)).toBe(true);
    expect(r.covers(`${BASE}/mcp`, gmail)).toBe(false);
    for (const everywhere of [BASE, `${BASE}/`, 'workspace-api', ['other', BASE]]) expect(r.covers(everywhere, drive)).toBe(true);
    for (const nowhere of [undefined, `${BASE}/v1/users/me`, `${BASE}/v1/users/a@b.c/gmail`, 'https://broker.example.com.evil/v1', `${BASE}/v1/`]) {
      expect([nowhere, r.covers(nowhere, gmail)]).toEqual([nowhere, false]);
    }
  });

  it('names resources by identifier and metadata path', () => {
    expect(r.byIdentifier(`${BASE}/`)?.identifier).toBe(BASE);
    expect(r.byIdentifier(`${BASE}/mcp`)?.metadataUrl).toBe(`${BASE}/.well-known/oauth-protected-resource/mcp`);
    expect(r.byIdentifier(`${BASE}/nope`)).toBeUndefined();
    expect(r.byPath('/v1/users/me/drive')?.name).toBe('Drive');
    expect(r.byPath('/v1/users/me')).toBeUndefined();
    expect(r.root.scopesSupported).toEqual(['g1', 'g2', 'd1']);
    expect(r.known(['d1', 'openid', 'g1', 'd1'])).toEqual(['d1', 'g1']);
  });

  it('builds the challenges', () => {
    expect(unauthorizedChallenge(gmail, false)).toBe(`Bearer resource_metadata="${BASE}/.well-known/oauth-protected-resource/v1/users/me/gmail", scope="g1"`);
    expect(unauthorizedChallenge(r.root, true)).toBe(`Bearer resource_metadata="${BASE}/.well-known/oauth-protected-resource", scope="g1 d1", error="invalid_token"`);
    expect(insufficientScopeChallenge(gmail, ['g2'])).toBe(`Bearer error="insufficient_scope", scope="g2", resource_metadata="${BASE}/.well-known/oauth-protected-resource/v1/users/me/gmail"`);
  });
});

describe('protected resources under a PUBLIC_URL not written the way new URL() writes it', () => {
  const env = { GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret', S3_BUCKET: 'bucket', JWT_SECRET: 'x'.repeat(32) };

  it.each([
    ['https://Broker.Example.com', 'https://broker.example.com'],
    ['https://broker.example.com:443', 'https://broker.example.com'],
    ['https://broker.example.com', 'https://broker.example.com'],
    ['https://Broker.Example.com:443/Workspace/', 'https://broker.example.com/Workspace'],
  ])('PUBLIC_URL=%s: the resource the MCP SDK sends back is ours (not invalid_target)', async (publicUrl, canonical) => {
    const config = { values: parseConfig({ ...env, PUBLIC_URL: publicUrl }) } as AppConfig;
    const r = new ProtectedResources(config);
    r.register({ path: '/mcp', routes: ['/mcp'], name: 'MCP', scopesSupported: ['g1'], scopesToRequest: ['g1'] });
    const mcp = r.byPath('/mcp')!;
    expect(mcp.identifier).toBe(`${canonical}/mcp`);
    expect(mcp.metadataUrl).toBe(`${canonical}/.well-known/oauth-protected-resource/mcp`);
    // What the SDK client does with the resource metadata's `resource` before /oauth/authorize and /oauth/token.
    const sent = await selectResourceURL(new URL(`${canonical}/mcp`), {} as OAuthClientProvider, { resource: mcp.identifier });
    expect(r.byIdentifier(String(sent))).toBe(mcp);
    expect(r.byIdentifier(new URL(r.root.identifier).href)).toBe(r.root);
    expect(r.covers(String(sent), mcp)).toBe(true);
  });
});
