import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { startBehindS3Proxy, stopBehindS3Proxy } from '../support/behind-s3-proxy.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { getWithBearer, readObject, Service, startService, World } from '../support/harness.js';
import { authorizeInBrowser, authorizeUrl, pkceRequest, refreshGrant } from '../support/oauth-consent.js';
import { selfSigned } from '../support/self-signed.js';

const REDIRECT = 'http://127.0.0.1:8767/callback';
const S3_TIMEOUT_MS = 1500;
/** Where approved clients' metadata documents are kept in S3. */
const DOCUMENT_COPIES = /\/oauth\/client-metadata\//;

/**
 * A client whose client_id is a metadata document URL (as Claude's and VS Code's are), refreshing while S3 fails on
 * the document's copy, or while the document's own host fails: neither is the client's doing, so neither may answer
 * 401 invalid_client ("unknown client"), on which the MCP SDK's auth() drops every credential it holds and sends its
 * user through a new authorization. S3 failing is 503 temporarily_unavailable; the host failing for a moment is
 * bridged by the copy kept from before.
 */
describe('Client ID Metadata Documents: S3 or the document\'s host failing', () => {
  let world: World;
  let s3: FaultProxy;
  let sut: Service;
  let replicas: Service[] = [];
  let docs: Server;
  let docBase = '';
  let tlsCert = '';
  const documents = new Map<string, { body: unknown; headers: Record<string, string>; status?: number }>();

  beforeAll(async () => {
    const tls = selfSigned();
    tlsCert = tls.cert;
    docs = createServer(tls, (req, res) => {
      const doc = documents.get(req.url ?? '');
      if (!doc) return res.writeHead(404).end();
      if (doc.status) return res.writeHead(doc.status).end();
      res.writeHead(200, { 'content-type': 'application/json', ...doc.headers }).end(JSON.stringify(doc.body));
    });
    await new Promise<void>((r) => docs.listen(0, '127.0.0.1', r));
    docBase = `https://127.0.0.1:${(docs.address() as AddressInfo).port}`;
    ({ world, s3, sut } = await startBehindS3Proxy({ S3_TIMEOUT_MS: String(S3_TIMEOUT_MS), OAUTH_CIMD_ALLOW_PRIVATE_HOSTS: 'true', OAUTH_CIMD_EXTRA_CA: tlsCert }));
  });
  afterEach(() => s3.clear());
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await stopBehindS3Proxy(world, s3, sut);
    await new Promise((r) => docs?.close(r));
  });

  /** Another replica behind the same S3 proxy: it has no copy of any document in memory. */
  async function freshReplica(): Promise<Service> {
    const replica = await startService(world, { S3_ENDPOINT: s3.url, S3_TIMEOUT_MS: String(S3_TIMEOUT_MS), OAUTH_CIMD_ALLOW_PRIVATE_HOSTS: 'true', OAUTH_CIMD_EXTRA_CA: tlsCert });
    replicas.push(replica);
    return replica;
  }

  /** Publishes a document, authorizes `email` for it on `sut` and exchanges the code there (its copy is then in S3). */
  async function approvedClient(path: string, email: string, cacheControl: string): Promise<{ clientId: string; refreshToken: string }> {
    const clientId = `${docBase}${path}`;
    documents.set(path, { body: { client_id: clientId, client_name: 'Doc App', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none' }, headers: { 'cache-control': cacheControl } });
    const { verifier, params } = await pkceRequest(clientId, REDIRECT);
    const { location } = await authorizeInBrowser(world, authorizeUrl(sut.url, params), email);
    const res = await fetch(`${sut.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code: location?.searchParams.get('code') as string, code_verifier: verifier, redirect_uri: REDIRECT }),
    });
    expect(res.status).toBe(200);
    return { clientId, refreshToken: ((await res.json()) as { refresh_token: string }).refresh_token };
  }

  it('a refresh on a replica whose read of the document\'s copy S3 fails: 503 temporarily_unavailable (not 401 invalid_client), and the same refresh token works afterwards', async () => {
    const { clientId, refreshToken } = await approvedClient('/apps/s3-read.json', 'cimd-s3-read@example.com', 'max-age=600');
    const other = await freshReplica();
    s3.inject({ fault: 'answer', status: 503, times: Infinity, method: 'GET', path: DOCUMENT_COPIES });
    const failed = await refreshGrant(other.url, clientId, refreshToken);
    s3.clear();
    expect(failed).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable', reason: 'storage_unavailable' } });
    const retry = await refreshGrant(other.url, clientId, refreshToken);
    expect(retry).toMatchObject({ status: 200, body: { refresh_token: expect.any(String) } });
    expect((await getWithBearer(other, '/auth/session', retry.body.access_token)).status).toBe(200);
  });

  it('the same as the MCP SDK 1.x sees it: TemporarilyUnavailableError, so its auth() keeps the credentials instead of starting over', async () => {
    const { refreshAuthorization } = await import('@modelcontextprotocol/sdk/client/auth.js');
    const { InvalidClientError, TemporarilyUnavailableError } = await import('@modelcontextprotocol/sdk/server/auth/errors.js');
    const { clientId, refreshToken } = await approvedClient('/apps/s3-read-sdk.json', 'cimd-s3-read-sdk@example.com', 'max-age=600');
    const other = await freshReplica();
    const metadata = (await (await fetch(`${other.url}/.well-known/oauth-authorization-server`)).json()) as Parameters<typeof refreshAuthorization>[1]['metadata'];
    s3.inject({ fault: 'answer', status: 503, times: Infinity, method: 'GET', path: DOCUMENT_COPIES });
    const failure = await refreshAuthorization(new URL(other.url), { metadata, clientInformation: { client_id: clientId }, refreshToken }).then(
      () => undefined,
      (err: unknown) => err,
    );
    s3.clear();
    expect(failure).toBeInstanceOf(TemporarilyUnavailableError);
    expect(failure).not.toBeInstanceOf(InvalidClientError);
  });

  it('an expired copy refetched on a replica where S3 will not store the new one: the fetched document is used, the refresh gets 200', async () => {
    const { clientId, refreshToken } = await approvedClient('/apps/s3-write.json', 'cimd-s3-write@example.com', 'max-age=1');
    const other = await freshReplica();
    await new Promise((r) => setTimeout(r, 1200)); // the copy in S3 expires: the lookup refetches and replaces it
    s3.inject({ fault: 'answer', status: 503, times: Infinity, method: 'PUT', path: DOCUMENT_COPIES });
    const refreshed = await refreshGrant(other.url, clientId, refreshToken);
    s3.clear();
    expect(refreshed).toMatchObject({ status: 200, body: { refresh_token: expect.any(String) } });
    expect((await refreshGrant(other.url, clientId, refreshed.body.refresh_token)).status).toBe(200);
  });

  it('an expired copy whose document\'s host answers 503 for now: the copy kept from before answers, the refresh gets 200', async () => {
    const path = '/apps/host-down.json';
    const { clientId, refreshToken } = await approvedClient(path, 'cimd-host-down@example.com', 'max-age=1');
    const other = await freshReplica();
    await new Promise((r) => setTimeout(r, 1200));
    documents.set(path, { ...(documents.get(path) as { body: unknown; headers: Record<string, string> }), status: 503 });
    const refreshed = await refreshGrant(other.url, clientId, refreshToken);
    expect(refreshed).toMatchObject({ status: 200, body: { refresh_token: expect.any(String) } });
    expect((await getWithBearer(other, '/auth/session', refreshed.body.access_token)).status).toBe(200);
  });

  it('an approved client whose copy is past its grace and whose document\'s host answers 503: 503 temporarily_unavailable (not invalid_client), and the refresh works once the host is back', async () => {
    const path = '/apps/host-down-long.json';
    const { clientId, refreshToken } = await approvedClient(path, 'cimd-host-down-long@example.com', 'max-age=600');
    // The copy in S3 as it is after a long idle time: expired two hours ago, beyond the hour a stale copy is served.
    const key = `oauth/client-metadata/${createHash('sha256').update(clientId).digest('hex')}.json`;
    const { json } = await readObject(world, key);
    await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, ContentType: 'application/json', Body: JSON.stringify({ ...json, expiresAt: new Date(Date.now() - 2 * 3600 * 1000).toISOString() }) }));
    const other = await freshReplica();
    const doc = documents.get(path) as { body: unknown; headers: Record<string, string> };
    documents.set(path, { ...doc, status: 503 });
    const failed = await refreshGrant(other.url, clientId, refreshToken);
    documents.set(path, doc);
    expect(failed).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
    const retry = await refreshGrant(other.url, clientId, refreshToken);
    expect(retry).toMatchObject({ status: 200, body: { refresh_token: expect.any(String) } });
  });

  it('an expired copy whose document is gone (404): the client is refused, as its owner decided', async () => {
    const path = '/apps/removed.json';
    const { clientId, refreshToken } = await approvedClient(path, 'cimd-removed@example.com', 'max-age=1');
    const other = await freshReplica();
    await new Promise((r) => setTimeout(r, 1200));
    documents.delete(path);
    expect(await refreshGrant(other.url, clientId, refreshToken)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });
});
