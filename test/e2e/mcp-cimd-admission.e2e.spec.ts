import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { objectExists, Service, startService, startWorld, World } from '../support/harness.js';
import { connectV2 } from '../support/mcp-clients.js';
import { authorizeInBrowser, authorizeUrl, pkceRequest, readConsentPage, refreshGrant } from '../support/oauth-consent.js';
import { selfSigned } from '../support/self-signed.js';

const REDIRECT = 'http://127.0.0.1:8767/callback';
/** Two document hosts: loopback addresses, one https server each (one certificate names both). */
const HOSTS = ['127.0.0.1', '127.0.0.2'] as const;

/** Where a document fetched for `clientId` is cached in S3. */
const cacheKey = (clientId: string) => `oauth/client-metadata/${createHash('sha256').update(clientId).digest('hex')}.json`;

/**
 * Who may connect through Client ID Metadata Documents. An operator names the hosts documents are accepted from
 * (OAUTH_CIMD_ALLOWED_HOSTS): any other host is refused from the client_id alone, before a request to it or a byte
 * stored, and a host taken off the list stops its approved clients at the token endpoint. On a host where anyone can
 * publish (here 127.0.0.1 through OAUTH_CIMD_SHARED_HOSTS, standing for raw.githubusercontent.com), the consent page
 * names whose space the document is in and warns, instead of calling the host checked; so it does for a host below
 * a suffix of the Public Suffix List's private section (someone.myshopify.com), which no list names.
 */
describe('Client ID Metadata Documents: which hosts are accepted, and shared hosts', () => {
  let world: World;
  let listed: Service;
  const servers: Server[] = [];
  const base: Record<string, string> = {};
  /** Every request the document servers got, as `host/path`. */
  const requests: string[] = [];
  let tls: { key: string; cert: string };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    requests.push(`${host}${req.url ?? ''}`);
    const clientId = `https://${req.headers.host}${req.url}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ client_id: clientId, client_name: 'Doc App', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none' }));
  };
  /** Settings of a service that fetches from the test document servers, plus `more`. */
  const settings = (more: Record<string, string>) => ({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, OAUTH_CIMD_ALLOW_PRIVATE_HOSTS: 'true', OAUTH_CIMD_EXTRA_CA: tls.cert, ...more });
  const authorize = (service: Service, clientId: string, accept = 'application/json') =>
    fetch(authorizeUrl(service.url, { client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }), { redirect: 'manual', headers: { accept } });
  const post = (service: Service, path: string, form: Record<string, string>) =>
    fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  /** Approves `clientId` as `email` in a browser and exchanges the code: the client's tokens. */
  const connect = async (service: Service, clientId: string, email: string) => {
    const { verifier, params } = await pkceRequest(clientId, REDIRECT);
    const { location, consentPages } = await authorizeInBrowser(world, authorizeUrl(service.url, params), email);
    const code = location?.searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    const exchanged = await post(service, '/oauth/token', { grant_type: 'authorization_code', client_id: clientId, code: code as string, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(exchanged.status).toBe(200);
    return { consentPages, tokens: (await exchanged.json()) as { access_token: string; refresh_token: string } };
  };

  beforeAll(async () => {
    tls = selfSigned([...HOSTS]);
    for (const host of HOSTS) {
      const server = createServer(tls, handle);
      await new Promise<void>((r) => server.listen(0, host, r));
      servers.push(server);
      base[host] = `https://${host}:${(server.address() as AddressInfo).port}`;
    }
    world = await startWorld();
    listed = await startService(world, settings({ OAUTH_CIMD_ALLOWED_HOSTS: 'claude.ai, 127.0.0.1' }));
  });
  afterAll(async () => {
    await listed?.close();
    await world?.close();
    for (const server of servers) await new Promise((r) => server.close(r));
  });

  it('a host not on the list is refused from the client_id alone: 400 at /oauth/authorize, 401 invalid_client at the token endpoint (revocation answers as for any token), no request to it, nothing stored', async () => {
    const clientId = `${base['127.0.0.2']}/apps/not-listed.json`;
    const asked = await authorize(listed, clientId);
    expect(asked.status).toBe(400);
    expect(asked.headers.get('location')).toBeNull(); // the client is not known: nothing goes to its redirect URI
    const refusal = (await asked.json()) as { error: string; message: string };
    expect(refusal.error).toBe('invalid_request');
    expect(refusal.message).toContain('does not accept applications described by a metadata document at 127.0.0.2');
    expect(refusal.message).toContain('OAUTH_CIMD_ALLOWED_HOSTS');
    expect(refusal.message).not.toContain('claude.ai'); // the operator's list is nobody else's business
    // A person's browser gets our page saying the same.
    const page = await authorize(listed, clientId, 'text/html');
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('Ask the operator of this service to allow this application');
    for (const [path, form] of [
      ['/oauth/token', { grant_type: 'authorization_code', client_id: clientId, code: 'made-up', code_verifier: 'v'.repeat(43), redirect_uri: REDIRECT }],
      ['/oauth/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: 'made-up' }],
    ] as const) {
      const res = await post(listed, path, form);
      const body = (await res.json()) as { error: string; error_description: string };
      expect([path, res.status, body.error]).toEqual([path, 401, 'invalid_client']);
      expect(body.error_description).toContain('OAUTH_CIMD_ALLOWED_HOSTS');
    }
    // Revocation only takes access away: answered as RFC 7009 answers any token, by the client_id alone.
    expect((await post(listed, '/oauth/revoke', { client_id: clientId, token: 'made-up' })).status).toBe(200);
    expect(requests.filter((r) => r.startsWith('127.0.0.2'))).toEqual([]);
    expect(await objectExists(world, cacheKey(clientId))).toBe(false);
    expect(world.logs.events('client metadata document host not allowed')).toContainEqual(expect.objectContaining({ event: 'cimd_not_admitted', host: '127.0.0.2' }));
  });

  it('a host on the list works end to end: consent naming its host as checked, code, tokens, a tool call, a refresh', async () => {
    const clientId = `${base['127.0.0.1']}/apps/listed.json`;
    const { consentPages, tokens } = await connect(listed, clientId, 'listed-user@example.com');
    expect(consentPages).toHaveLength(1);
    expect(consentPages[0].html).toContain(`that host is checked`);
    expect(consentPages[0].warning).toBeUndefined();
    const client = await connectV2(`${listed.url}/mcp`, tokens.access_token);
    try {
      expect((await client.callTool({ name: 'list_gmail_labels', arguments: {} })).isError).toBeFalsy();
    } finally {
      await client.close();
    }
    expect((await refreshGrant(listed.url, clientId, tokens.refresh_token)).status).toBe(200);
    expect(requests).toContain('127.0.0.1/apps/listed.json');
  });

  it('a client approved while its host was listed is refused at the token endpoint once a restart takes the host off the list, but can still revoke; putting the host back restores what it did not revoke', async () => {
    const clientId = `${base['127.0.0.1']}/apps/later-removed.json`;
    const before = await startService(world, settings({ OAUTH_CIMD_ALLOWED_HOSTS: '127.0.0.1' }));
    let kept: string;
    let revoked: string;
    try {
      kept = (await connect(before, clientId, 'removed-user@example.com')).tokens.refresh_token;
      revoked = (await connect(before, clientId, 'revoking-user@example.com')).tokens.refresh_token;
      expect(await objectExists(world, cacheKey(clientId))).toBe(true); // approved: its document is kept in S3
    } finally {
      await before.close();
    }
    const fetchedBefore = requests.length;
    const after = await startService(world, settings({ OAUTH_CIMD_ALLOWED_HOSTS: 'claude.ai' }));
    try {
      const refused = await refreshGrant(after.url, clientId, kept);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: 'invalid_client', error_description: expect.stringContaining('OAUTH_CIMD_ALLOWED_HOSTS') });
      // The application cleans up (a person disconnects it): revocation works by its client_id alone.
      expect((await post(after, '/oauth/revoke', { client_id: clientId, token: revoked })).status).toBe(200);
      // Another application's id cannot revoke it (the token is bound to the id it was issued to): checked below.
      expect((await post(after, '/oauth/revoke', { client_id: `${base['127.0.0.1']}/apps/other.json`, token: kept })).status).toBe(200);
      expect((await authorize(after, clientId)).status).toBe(400);
    } finally {
      await after.close();
    }
    expect(requests.length).toBe(fetchedBefore); // refused, and revoked, without fetching the document
    // The refusal deleted nothing: with the host listed again, the token not revoked works; the revoked one does not.
    const again = await startService(world, settings({ OAUTH_CIMD_ALLOWED_HOSTS: '127.0.0.1' }));
    try {
      expect((await refreshGrant(again.url, clientId, kept)).status).toBe(200);
      const dead = await refreshGrant(again.url, clientId, revoked);
      expect([dead.status, dead.body]).toEqual([400, expect.objectContaining({ error: 'invalid_grant' })]);
    } finally {
      await again.close();
    }
  });

  it('a document on a shared host whose path does not plainly name an account (an empty or encoded segment) is shown under the host alone, still warned about, never under the account the path spells', async () => {
    const shared = await startService(world, settings({ OAUTH_CIMD_SHARED_HOSTS: '127.0.0.1' }));
    try {
      const host = `127.0.0.1:${new URL(base['127.0.0.1']).port}`;
      // A server that merges slashes, or decodes %2F and resolves the dots, serves attacker's file at these.
      for (const path of ['//victim/repo/client.json', '/victim%2F..%2Fattacker/repo/client.json']) {
        const res = await authorize(shared, `${base['127.0.0.1']}${path}`, 'text/html');
        expect([path, res.status]).toEqual([path, 200]);
        const page = readConsentPage(await res.text());
        expect(page?.html).toContain(`Allow <strong>Doc App (${host})</strong>`);
        expect(page?.warning).toContain(`Anyone can publish documents at ${host}, so it says nothing about who made this application.`);
        expect(page?.html).not.toContain('served under the account');
        expect(page?.html).not.toMatch(/checked/i);
      }
    } finally {
      await shared.close();
    }
  });

  it('a document on a shared host: the consent page names whose space it is and warns that anyone can publish there, never that the host is checked', async () => {
    // Listed and shared: the list decides that it may be used, the page still warns (docs/mcp.md says why).
    const shared = await startService(world, settings({ OAUTH_CIMD_ALLOWED_HOSTS: '127.0.0.1', OAUTH_CIMD_SHARED_HOSTS: '127.0.0.1' }));
    try {
      const clientId = `${base['127.0.0.1']}/someuser/repo/client.json`;
      const tenant = `127.0.0.1:${new URL(base['127.0.0.1']).port}/someuser`;
      const res = await authorize(shared, clientId, 'text/html');
      expect(res.status).toBe(200);
      const page = readConsentPage(await res.text());
      expect(page?.html).toContain(`Allow <strong>Doc App (${tenant})</strong>`);
      expect(page?.html).toMatch(/<p class="warning" role="alert"[^>]*>/);
      expect(page?.warning).toContain(`Anyone can publish documents at 127.0.0.1:${new URL(base['127.0.0.1']).port}`);
      expect(page?.warning).toContain(tenant);
      expect(page?.html).not.toMatch(/checked/i);
      // Allowed on that page, it connects like any other.
      const { tokens } = await connect(shared, clientId, 'shared-user@example.com');
      expect(tokens.refresh_token).toEqual(expect.any(String));
    } finally {
      await shared.close();
    }
    // Nothing in this file made the service store a document nobody approved.
    const kept = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket, Prefix: 'oauth/client-metadata/' }));
    expect((kept.Contents ?? []).map((o) => o.Key).sort()).toEqual([`${base['127.0.0.1']}/apps/listed.json`, `${base['127.0.0.1']}/apps/later-removed.json`, `${base['127.0.0.1']}/someuser/repo/client.json`].map(cacheKey).sort());
  });

  it('a document below a suffix of the Public Suffix List\'s private section, in no list: warned about as a shared host, under its account (the registrable domain), never called checked', async () => {
    // Such a name does not resolve to this test's servers, so the document is one kept in S3 from an earlier
    // approval, as a replica finds it after a restart; the page is built by the service as for a fetched one.
    const clientId = 'https://claude.ai.someone.myshopify.com/client.json';
    const key = cacheKey(clientId);
    const client = { clientId, clientName: 'Doc App (someone.myshopify.com)', redirectUris: [REDIRECT], tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code', 'refresh_token'], createdAt: new Date().toISOString(), static: false };
    await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, ContentType: 'application/json', Body: JSON.stringify({ client, expiresAt: new Date(Date.now() + 600_000).toISOString() }) }));
    const any = await startService(world, settings({}));
    try {
      const res = await authorize(any, clientId, 'text/html');
      expect(res.status).toBe(200);
      const page = readConsentPage(await res.text());
      expect(page?.html).toContain('a document at <strong>someone.myshopify.com</strong>, on a shared host');
      expect(page?.warning).toContain('claude.ai.someone.myshopify.com is on a hosting service where anyone can publish under a name of their choosing');
      expect(page?.warning).toContain('this one is served under the account someone.myshopify.com');
      expect(page?.html).not.toMatch(/checked/i);
    } finally {
      await any.close();
      await world.admin.send(new DeleteObjectCommand({ Bucket: world.bucket, Key: key }));
    }
  });
});

