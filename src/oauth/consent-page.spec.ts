import { documentClient as clientOfDocument } from './client-metadata-validation.js';
import { describeDestination, renderConsentPage, type ConsentView } from './consent-page.js';
import type { OAuthClient } from './oauth-client.js';
import { documentPublisher } from './shared-hosts.js';

const documentClient = (clientId: string, clientName: string): OAuthClient => ({
  clientId,
  clientName,
  redirectUris: ['http://127.0.0.1:8767/callback'],
  tokenEndpointAuthMethod: 'none',
  grantTypes: ['authorization_code'],
  createdAt: new Date().toISOString(),
  static: false,
});
const view = (client: OAuthClient, redirectUri = 'http://127.0.0.1:8767/callback'): ConsentView => ({
  client,
  redirectUri,
  access: ['Read your mail'],
  sealedRequest: 'sealed',
  action: 'https://broker.example/oauth/authorize/decision',
  publisher: documentPublisher(client.clientId),
});
const warnings = (html: string) => [...html.matchAll(/<p class="warning" role="alert"[^>]*>(.*?)<\/p>/gs)].map((m) => m[1].replace(/<[^>]+>/g, ''));

describe('the consent page of a metadata document client', () => {
  it('on its own host: names the host as checked, no warning', () => {
    const html = renderConsentPage(view(documentClient('https://claude.ai/oauth/client.json', 'Claude (claude.ai)')));
    expect(html).toContain('at <strong>claude.ai</strong>: that host is checked');
    expect(warnings(html)).toEqual([]);
  });

  it('on a shared host with path tenants: names whose space it is, warns that anyone publishes there, never says "checked"', () => {
    const html = renderConsentPage(view(documentClient('https://raw.githubusercontent.com/someuser/repo/main/client.json', 'Claude (raw.githubusercontent.com/someuser)')));
    expect(html).toContain('<strong>raw.githubusercontent.com/someuser</strong>');
    expect(html).not.toMatch(/checked/i);
    expect(warnings(html)).toEqual([expect.stringContaining('Anyone can publish documents at raw.githubusercontent.com')]);
    expect(warnings(html)[0]).toContain('served under the account raw.githubusercontent.com/someuser');
  });

  it('on a shared host with subdomain tenants: the host is the tenant, with the warning', () => {
    const html = renderConsentPage(view(documentClient('https://claude-connect.vercel.app/client.json', 'Claude (claude-connect.vercel.app)')));
    expect(html).toContain('<strong>claude-connect.vercel.app</strong>, on a shared host');
    expect(html).not.toMatch(/checked/i);
    expect(warnings(html)).toEqual([expect.stringContaining('claude-connect.vercel.app is on a hosting service where anyone can publish')]);
  });

  it('below a public suffix of the PSL\'s private section (no built-in entry): names the account, the registrable domain, not the labels its owner picked before it, and warns', () => {
    // The client as a fetched document makes it (the e2e cannot: such a name does not resolve to the test's servers).
    const url = 'https://claude.ai.someone.myshopify.com/client.json';
    const { client } = clientOfDocument(url, { client_id: url, client_name: 'Claude', redirect_uris: ['https://claude.ai.someone.myshopify.com/cb'] }, []);
    expect(client.clientName).toBe('Claude (someone.myshopify.com)');
    const html = renderConsentPage(view(client, 'https://claude.ai.someone.myshopify.com/cb'));
    expect(html).toContain('Allow <strong>Claude (someone.myshopify.com)</strong>');
    expect(html).toContain('<strong>someone.myshopify.com</strong>, on a shared host');
    expect(html).not.toMatch(/checked/i);
    expect(warnings(html)).toEqual([
      'Warning: claude.ai.someone.myshopify.com is on a hosting service where anyone can publish under a name of their choosing, so the name says nothing about who made this application: this one is served under the account someone.myshopify.com, and what comes before it in claude.ai.someone.myshopify.com is that account\'s own choice. Only allow if you know who published it and trust them with your mail, files and calendar.',
    ]);
  });

  it('a redirect URI on the same path-tenant host is not the application\'s own site: another tenant\'s page there reads the code', () => {
    const client = documentClient('https://storage.googleapis.com/app-bucket/client.json', 'App');
    const publisher = documentPublisher(client.clientId);
    expect(describeDestination(client, 'https://storage.googleapis.com/attacker-bucket/catch.html', publisher).warning).toContain('storage.googleapis.com');
    // A subdomain tenant's own host still is its own.
    const tenant = documentClient('https://app.vercel.app/client.json', 'App');
    expect(describeDestination(tenant, 'https://app.vercel.app/callback', documentPublisher(tenant.clientId)).warning).toBeUndefined();
  });
});
