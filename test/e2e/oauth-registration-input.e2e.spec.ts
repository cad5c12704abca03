import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readObject, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { authorizeInBrowser, authorizeUrl, readConsentPage, type ConsentPage } from '../support/oauth-consent.js';
import { selfSigned } from '../support/self-signed.js';

const LOOPBACK = 'http://127.0.0.1:8765/callback';
const CHALLENGE = createHash('sha256').update('v'.repeat(43)).digest('base64url');
const params = (clientId: string, redirectUri: string) => ({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 'st' });

/** The consent page a browser gets for this client and redirect URI (fails the test when it is not one). */
async function consentPage(service: Service, clientId: string, redirectUri: string): Promise<ConsentPage> {
  const res = await fetch(authorizeUrl(service.url, params(clientId, redirectUri)), { headers: { accept: 'text/html' }, redirect: 'manual' });
  const html = await res.text();
  expect({ status: res.status, html: res.status === 200 ? 'page' : html }).toEqual({ status: 200, html: 'page' });
  return readConsentPage(html) as ConsentPage;
}

describe('Client metadata shown on the consent page is checked at registration, and stored data never breaks the page', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  const registerRaw = (metadata: Record<string, unknown>) =>
    fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token_endpoint_auth_method: 'none', ...metadata }) });
  async function register(metadata: Record<string, unknown>): Promise<string> {
    const res = await registerRaw(metadata);
    expect(res.status).toBe(201);
    return ((await res.json()) as { client_id: string }).client_id;
  }

  it.each([
    ['an unparseable host', 'https://[x'],
    ['userinfo', 'https://trusted.example@evil.example/'],
    ['an empty userinfo', 'https://@evil.example/'],
    ['no host', 'https://'],
    ['a text-direction override', 'https://app.example/\u202e'],
  ])('refuses a client_uri with %s: 400 invalid_client_metadata naming the field', async (_what, clientUri) => {
    const res = await registerRaw({ redirect_uris: ['https://evil.com/cb'], client_uri: clientUri });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: 400, error: 'invalid_client_metadata', message: expect.stringContaining('"client_uri"') });
  });

  it.each([
    ['a right-to-left override', 'Trusted \u202eppA liaM'],
    ['a right-to-left isolate', 'Mail \u2067Helper\u2069'],
    ['a zero-width space', 'Goo\u200bgle'],
    ['a line separator', 'Google\u2028Drive'],
    ['a paragraph separator', 'Google\u2029Drive'],
  ])('refuses a client_name with %s: 400 invalid_client_metadata naming the field and the character', async (_what, clientName) => {
    const res = await registerRaw({ redirect_uris: [LOOPBACK], client_name: clientName });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body).toMatchObject({ error: 'invalid_client_metadata', message: expect.stringContaining('"client_name"') });
    expect(body.message).toMatch(/U\+[0-9A-F]{4}/);
  });

  it('still registers names in other scripts and with emoji, and an https client_uri, and echoes them', async () => {
    const res = await registerRaw({ redirect_uris: [LOOPBACK], client_name: 'Почта 🚀 メール', client_uri: 'https://app.example/about' });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ client_name: 'Почта 🚀 メール', client_uri: 'https://app.example/about' });
  });

  it('a client stored before these rules, with an unparseable client_uri and a bidi name, still gets its consent page (200), shown safely', async () => {
    const redirect = 'https://evil.com/cb';
    const clientId = await register({ redirect_uris: [redirect], client_name: 'Old client' });
    const key = `oauth/clients/${clientId}.json`;
    const { json } = await readObject(world, key);
    const stored = { ...json, clientUri: 'https://[x', clientName: 'Trusted \u202eppA liaM' };
    await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: JSON.stringify(stored), ContentType: 'application/json' }));

    const page = await consentPage(sut, clientId, redirect);
    expect(page.host).toBe('evil.com');
    // The unusable client_uri counts as no site of its own: the person is warned about the destination.
    expect(page.warning).toContain('evil.com');
    expect(page.html).not.toContain('\u202e');
    expect(page.html).toContain('Trusted \ufffdppA liaM');
  });

  it('a private-use scheme with an authority: the page names the scheme in large type, never the authority as a site', async () => {
    const redirect = 'com.evil.app://accounts.google.com/cb';
    const clientId = await register({ redirect_uris: [redirect], client_name: 'Google Sign-In' });
    const page = await consentPage(sut, clientId, redirect);
    expect(page.host).toBe('com.evil.app:');
    expect(page.host).not.toContain('accounts.google.com');
    expect(page.html).toContain('the app on this device that handles &quot;com.evil.app:&quot; links');
    // The full URI is still shown literally (in code type), as for every client.
    expect(page.html).toContain(`<code>${redirect}</code>`);

    // Not refused: such a redirect still works after consent (native apps use them).
    const done = await authorizeInBrowser(world, authorizeUrl(sut.url, params(clientId, redirect)), 'native-app@example.com');
    expect(done.consentPages.map((p) => p.host)).toEqual(['com.evil.app:']);
    expect(done.location?.protocol).toBe('com.evil.app:');
    expect(done.location?.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('loopback and https redirects keep showing their host', async () => {
    const loop = await register({ redirect_uris: [LOOPBACK] });
    expect((await consentPage(sut, loop, LOOPBACK)).host).toBe('127.0.0.1:8765');
    const site = await register({ redirect_uris: ['https://app.example/cb'], client_uri: 'https://app.example' });
    const page = await consentPage(sut, site, 'https://app.example/cb');
    expect(page.host).toBe('app.example');
    expect(page.warning).toBeUndefined(); // the client's own site
  });

  it('a registered name in the form of a document\'s client ("Claude (claude.ai)") is shown as a self-registered claim, not as a checked host', async () => {
    const mimic = await register({ client_name: 'Claude (claude.ai)', redirect_uris: ['https://attacker.example/cb'] });
    const page = await consentPage(sut, mimic, 'https://attacker.example/cb');
    const provenance = /id="provenance">(.*?)<\/p>/s.exec(page.html)?.[1] ?? '';
    expect(provenance).toContain('registered itself');
    expect(provenance).toContain('any site named in it');
    expect(page.html).not.toContain('described by a document');
  });
});


describe('A Client ID Metadata Document follows the same rules for what the page shows', () => {
  let world: World;
  let sut: Service;
  let docs: Server;
  let docBase: string;
  const documents = new Map<string, unknown>();

  beforeAll(async () => {
    const tls = selfSigned();
    docs = createServer(tls, (req, res) => {
      const doc = documents.get(req.url ?? '');
      if (!doc) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(doc));
    });
    await new Promise<void>((r) => docs.listen(0, '127.0.0.1', r));
    docBase = `https://127.0.0.1:${(docs.address() as AddressInfo).port}`;
    ({ world, sut } = await startWorldWithService({ OAUTH_CIMD_ALLOW_PRIVATE_HOSTS: 'true', OAUTH_CIMD_EXTRA_CA: tls.cert }));
  });
  afterAll(async () => {
    await stopAll(world, sut);
    await new Promise((r) => docs?.close(r));
  });

  it('a document with a bidi name and an unparseable client_uri gets a page (200) naming only the host it came from', async () => {
    const clientId = `${docBase}/apps/tricky.json`;
    const redirect = 'https://elsewhere.example/cb';
    documents.set('/apps/tricky.json', { client_id: clientId, client_name: 'Google \u202e', client_uri: 'https://[x', redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
    const page = await consentPage(sut, clientId, redirect);
    const docHost = new URL(docBase).host;
    expect(page.html).toContain(`Allow <strong>${docHost}</strong>`);
    // The host it came from is named as the checked fact; the page does not call it self-registered.
    expect(page.html).toContain(`described by a document at <strong>${docHost}</strong>`);
    expect(page.html).not.toContain('registered itself');
    expect(page.html).not.toContain('\u202e');
    // Neither the dropped client_uri nor anything else vouches for the redirect host: the person is warned.
    expect(page.warning).toContain('elsewhere.example');
  });
});
