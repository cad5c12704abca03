import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { objectExists, Service, startService, startWorld, World } from '../support/harness.js';
import { authorizeInBrowser, authorizeUrl, pkceRequest, refreshGrant } from '../support/oauth-consent.js';
import { selfSigned } from '../support/self-signed.js';

const REDIRECT = 'http://127.0.0.1:8767/callback';

/** Where a document fetched for `clientId` is cached in S3. */
const cacheKey = (clientId: string) => `oauth/client-metadata/${createHash('sha256').update(clientId).digest('hex')}.json`;

/** The issuer (https://broker.test in tests) answered by the service, as DNS would in production. */
const issuerFetch = (serviceUrl: string) =>
  ((input: string | URL | Request, init?: RequestInit) => fetch((typeof input === 'string' || input instanceof URL ? String(input) : input.url).replace(/^https:\/\/broker\.test/, serviceUrl), init)) as typeof fetch;

describe('Client ID Metadata Documents: a client_id that is an https URL', () => {
  let world: World;
  let sut: Service;
  let strict: Service;
  let docs: Server;
  let docBase: string;
  const documents = new Map<string, { body: unknown; headers?: Record<string, string> }>();
  const fetched: string[] = [];
  let tlsCert = '';

  beforeAll(async () => {
    const tls = selfSigned();
    tlsCert = tls.cert;
    docs = createServer(tls, (req, res) => {
      fetched.push(req.url ?? '');
      const doc = documents.get(req.url ?? '');
      if (!doc) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json', ...doc.headers }).end(JSON.stringify(doc.body));
    });
    await new Promise<void>((r) => docs.listen(0, '127.0.0.1', r));
    docBase = `https://127.0.0.1:${(docs.address() as AddressInfo).port}`;
    world = await startWorld();
    sut = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, OAUTH_CIMD_ALLOW_PRIVATE_HOSTS: 'true', OAUTH_CIMD_EXTRA_CA: tls.cert });
    strict = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, OAUTH_CIMD_EXTRA_CA: tls.cert });
  });
  afterAll(async () => {
    await sut?.close();
    await strict?.close();
    await world?.close();
    await new Promise((r) => docs?.close(r));
  });

  const publish = (path: string, body: Record<string, unknown>, headers?: Record<string, string>) => {
    const url = `${docBase}${path}`;
    documents.set(path, { body: { client_id: url, client_name: 'Doc App', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none', ...body }, headers });
    return url;
  };

  it('the metadata advertises it, and the v2 SDK client uses it instead of registering: consent names the host, tools work', async () => {
    const meta = (await (await fetch(`${sut.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ client_id_metadata_document_supported: true, token_endpoint_auth_methods_supported: expect.arrayContaining(['none']) });
    const clientId = publish('/apps/doc-app.json', {});
    let authorizationUrl: URL | undefined;
    let tokens: { access_token: string } | undefined;
    let verifier = '';
    let discovery: unknown;
    let clientInfo: Record<string, unknown> | undefined; // kept whole: the SDK stamps it with the issuer
    const provider = {
      redirectUrl: REDIRECT,
      clientMetadataUrl: clientId,
      clientMetadata: { client_name: 'Doc App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' },
      clientInformation: () => clientInfo as never,
      saveClientInformation: (info: Record<string, unknown>) => void (clientInfo = info),
      tokens: () => tokens as never,
      saveTokens: (t: { access_token: string }) => void (tokens = t),
      redirectToAuthorization: (u: URL) => void (authorizationUrl = u),
      saveCodeVerifier: (v: string) => void (verifier = v),
      codeVerifier: () => verifier,
      saveDiscoveryState: (s: unknown) => void (discovery = s),
      discoveryState: () => discovery as never,
    };
    const transport = () => new StreamableHTTPClientTransport(new URL(`${sut.url}/mcp`), { authProvider: provider as never, fetch: issuerFetch(sut.url) });
    const first = transport();
    await new Client({ name: 'cimd-app', version: '1' }).connect(first).catch(() => undefined);
    expect(authorizationUrl?.searchParams.get('client_id')).toBe(clientId);
    const { location, consentPages } = await authorizeInBrowser(world, authorizationUrl!.toString().replace('https://broker.test', sut.url), 'cimd-user@example.com');
    expect(consentPages).toHaveLength(1);
    expect(consentPages[0].html).toContain(`Doc App (127.0.0.1:${new URL(docBase).port})`);
    expect(location?.searchParams.get('code')).toEqual(expect.any(String));
    await first.finishAuth(location!.searchParams);
    const client = new Client({ name: 'cimd-app', version: '1' });
    await client.connect(transport());
    try {
      const labels = await client.callTool({ name: 'list_gmail_labels', arguments: {} });
      expect(labels.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    // Approved, so kept in S3 for every replica (the document said nothing about caching: an hour).
    const listed = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket, Prefix: 'oauth/client-metadata/' }));
    expect(listed.KeyCount).toBeGreaterThanOrEqual(1);
  });

  it('refuses documents that are not their own URL, redirect URIs they do not list, and private hosts by default', async () => {
    const authorize = (base: string, clientId: string, redirect = REDIRECT) =>
      fetch(`${base}/oauth/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: redirect, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`, { redirect: 'manual' });
    const liar = publish('/apps/liar.json', { client_id: 'https://someone-else.example/app.json' });
    const liarAnswer = await authorize(sut.url, liar);
    expect(liarAnswer.status).toBe(400);
    expect(liarAnswer.headers.get('location')).toBeNull();
    // It says what a usable document looks like (not "register first"), and nothing of what the fetch met.
    const refusal = (await liarAnswer.json()) as { message: string };
    expect(refusal.message).toContain('whose client_id is exactly this URL');
    expect(refusal.message).not.toContain('someone-else');
    const honest = publish('/apps/honest.json', {});
    const elsewhere = await authorize(sut.url, honest, 'https://evil.example/steal');
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.get('location')).toBeNull();
    expect((await authorize(sut.url, honest)).status).toBe(200); // the consent page
    const before = fetched.length;
    expect((await authorize(strict.url, publish('/apps/strict.json', {}))).status).toBe(400); // 127.0.0.1 is private
    expect(fetched.length).toBe(before); // not even fetched
    // A client_id in any other spelling than the parser's own (dot segments, upper-case scheme, a tab) is refused
    // unfetched, even when the document it resolves to names that very spelling: the page and the approval would
    // name the client by a path (/official/) that was never fetched.
    for (const spelled of [`${docBase}/apps/official/../dotted.json`, `${docBase}/apps/official/%2e%2e/dotted.json`, `HTTPS://${docBase.slice(8)}/apps/dotted.json`, `${docBase}/apps/dot\tted.json`]) {
      documents.set('/apps/dotted.json', { body: { client_id: spelled, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' } });
      const res = await authorize(sut.url, spelled);
      expect([spelled, res.status]).toEqual([spelled, 400]);
    }
    expect(fetched.filter((p) => p.includes('dotted'))).toEqual([]);
  });

  it('honours Cache-Control: no-store is fetched again every time, max-age is reused while it lasts', async () => {
    const authorize = (clientId: string) =>
      fetch(`${sut.url}/oauth/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`, { redirect: 'manual' });
    const fresh = publish('/apps/no-store.json', {}, { 'cache-control': 'no-store' });
    const kept = publish('/apps/max-age.json', {}, { 'cache-control': 'max-age=600' });
    for (let i = 0; i < 2; i++) {
      expect((await authorize(fresh)).status).toBe(200);
      expect((await authorize(kept)).status).toBe(200);
    }
    expect(fetched.filter((p) => p === '/apps/no-store.json').length).toBeGreaterThanOrEqual(2);
    expect(fetched.filter((p) => p === '/apps/max-age.json')).toHaveLength(1);
  });

  it('deletes an expired cached copy that the next lookup does not replace (no-store now, or gone)', async () => {
    const authorize = (clientId: string) =>
      fetch(`${sut.url}/oauth/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`, { redirect: 'manual' });
    // Copies of approved clients (only those are in S3), expired a second ago.
    const nowNoStore = publish('/apps/short-then-no-store.json', {}, { 'cache-control': 'no-store' });
    const nowGone = `${docBase}/apps/short-then-gone.json`;
    for (const url of [nowNoStore, nowGone]) {
      const client = { clientId: url, clientName: 'Doc App', redirectUris: [REDIRECT], tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code'], createdAt: new Date().toISOString(), static: false };
      const body = JSON.stringify({ client, expiresAt: new Date(Date.now() - 1000).toISOString() });
      await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: cacheKey(url), Body: body, ContentType: 'application/json', ServerSideEncryption: 'AES256' }));
    }
    expect((await authorize(nowNoStore)).status).toBe(200); // still a client, just not cached any more
    expect((await authorize(nowGone)).status).toBe(400);
    expect(await objectExists(world, cacheKey(nowNoStore))).toBe(false);
    expect(await objectExists(world, cacheKey(nowGone))).toBe(false);
  });

  it('a document nobody approved is kept in memory only: naming URL after URL writes nothing to S3', async () => {
    // Before, each distinct URL on one's own domain made the service write an S3 object, bounded only by the
    // authorize rate limit (60 a minute per address, 240 across the token and revocation endpoints).
    const named = Array.from({ length: 20 }, (_, i) => publish(`/apps/minted-${i}.json`, {}));
    for (const url of named) {
      const res = await fetch(authorizeUrl(sut.url, { client_id: url, redirect_uri: REDIRECT, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }), { redirect: 'manual' });
      expect(res.status).toBe(200); // a consent page each: the clients work, nobody pressed Allow
    }
    for (const url of named) expect(await objectExists(world, cacheKey(url))).toBe(false);
    const before = fetched.length;
    const token = await fetch(`${sut.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', client_id: named[0], code: 'made-up', code_verifier: 'v'.repeat(43) }) });
    expect(token.status).toBe(400); // invalid_grant: no code, no approval, nothing written
    expect(await objectExists(world, cacheKey(named[0]))).toBe(false);
    expect(fetched.length).toBe(before); // and no refetch: this replica keeps it in memory
  });

  it('an approved client is kept in S3: another replica exchanges its code and refreshes without fetching it', async () => {
    const clientId = publish('/apps/approved.json', {});
    const other = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, OAUTH_CIMD_ALLOW_PRIVATE_HOSTS: 'true', OAUTH_CIMD_EXTRA_CA: tlsCert });
    try {
      const { verifier, params } = await pkceRequest(clientId, REDIRECT);
      const { location } = await authorizeInBrowser(world, authorizeUrl(sut.url, params), 'approver@example.com');
      const code = location?.searchParams.get('code');
      expect(code).toEqual(expect.any(String));
      expect(await objectExists(world, cacheKey(clientId))).toBe(true); // written when the code was issued
      const before = fetched.length;
      const exchanged = await fetch(`${other.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code: code as string, code_verifier: verifier, redirect_uri: REDIRECT }) });
      expect(exchanged.status).toBe(200);
      const { refresh_token } = (await exchanged.json()) as { refresh_token: string };
      expect((await refreshGrant(other.url, clientId, refresh_token)).status).toBe(200);
      expect(fetched.length).toBe(before); // the other replica read the copy in S3
    } finally {
      await other.close();
    }
  });

  it('introspection refuses a URL client_id before fetching or storing anything (it serves registered confidential clients)', async () => {
    const clientId = publish('/apps/introspector.json', {});
    const before = fetched.length;
    const attempts: Array<Record<string, string>> = [{ client_id: clientId }, { client_id: clientId, client_secret: 'anything' }];
    for (const credentials of attempts) {
      const res = await fetch(`${sut.url}/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...credentials, token: 'whatever' }) });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ statusCode: 401, error: 'invalid_client', message: expect.stringMatching(/registered confidential clients.*\/oauth\/register/) });
    }
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:anything`).toString('base64');
    const viaBasic = await fetch(`${sut.url}/oauth/introspect`, { method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=whatever' });
    expect(viaBasic.status).toBe(401);
    expect(fetched.length).toBe(before);
    expect(await objectExists(world, cacheKey(clientId))).toBe(false);
  });
});
