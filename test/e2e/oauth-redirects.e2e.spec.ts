import { createHash } from 'node:crypto';
import { startService, startWorld, stopAll, type Service, type World } from '../support/harness.js';
import { authorizeInBrowser, authorizeUrl } from '../support/oauth-consent.js';

const CHALLENGE = createHash('sha256').update('v'.repeat(43)).digest('base64url');

describe('Redirect URIs: exact, safe, and no open redirector', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world);
  });
  afterAll(() => stopAll(world, sut));

  const registerRaw = (redirectUris: string[]) =>
    fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: redirectUris, token_endpoint_auth_method: 'none' }) });
  async function register(redirectUris: string[]): Promise<string> {
    const res = await registerRaw(redirectUris);
    expect(res.status).toBe(201);
    return ((await res.json()) as { client_id: string }).client_id;
  }
  const params = (clientId: string, redirectUri: string, extra: Record<string, string> = {}) => ({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    state: 'st',
    ...extra,
  });

  it.each([
    ['userinfo on loopback', 'http://evil@127.0.0.1:8765/cb'],
    ['userinfo on https', 'https://user:pw@app.example/cb'],
    ['a dot-dot segment', 'http://127.0.0.1:8765/x/../cb'],
    ['a dot segment', 'https://app.example/./cb'],
    ['an encoded dot-dot segment', 'http://127.0.0.1:8765/x/%2e%2E/cb'],
    ['a half-encoded dot-dot segment', 'https://app.example/x/.%2e/cb'],
    ['a fragment', 'https://app.example/cb#top'],
    ['an empty fragment', 'https://app.example/cb#'],
    ['plain http to a public host', 'http://app.example/cb'],
    ['a backslash', 'https://app.example\\@evil.example/cb'],
    ['a javascript: URI', 'javascript:alert(1)'],
    ['a relative URI', '/cb'],
    // The consent page shows the whole URI: nothing in it may read differently from what it is (as client_name).
    ['a right-to-left override (the page would read "https://app.example/cb?https://accounts.google.com")', 'https://app.example/cb?\u202emoc.elgoog.stnuocca//:sptth'],
    ['a right-to-left isolate', 'com.example.app:/cb\u2067x\u2069'],
    ['a zero-width space', 'http://127.0.0.1:8765/c\u200bb'],
  ])('refuses to register a redirect URI with %s', async (_what, uri) => {
    const res = await registerRaw([uri]);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_redirect_uri', message: expect.any(String) });
  });

  it('registers https, loopback (IPv4, IPv6, localhost) and private-use scheme redirect URIs', async () => {
    expect((await registerRaw(['https://app.example/cb', 'http://127.0.0.1:9000/cb', 'http://[::1]:9000/cb', 'http://localhost/cb', 'com.example.app:/oauth/cb'])).status).toBe(201);
  });

  it('at authorize, compares as strings: only a loopback redirect\'s port may differ; never redirects a mismatch', async () => {
    const loop = await register(['http://127.0.0.1:8765/callback']);
    const https = await register(['https://app.example/cb']);
    const refused: Array<[string, string]> = [
      [loop, 'http://evil@127.0.0.1:8765/callback'],
      [loop, 'http://127.0.0.1:8765/x/../callback'],
      [loop, 'http://127.0.0.1:8765/x/%2e%2e/callback'],
      [loop, 'http://127.0.0.1:8765/callback#frag'],
      [loop, 'http://127.0.0.1:8765/Callback'],
      [loop, 'http://127.0.0.1:8765/callback/'],
      [loop, 'http://127.0.0.1:8765/callback?x=1'],
      [loop, 'http://localhost:8765/callback'],
      [loop, 'https://127.0.0.1:8765/callback'],
      [https, 'https://app.example:8443/cb'],
      [https, 'https://APP.example/cb'],
      [https, 'https://app.example/cb/'],
      [https, 'https://app.example.evil.example/cb'],
    ];
    for (const [client, uri] of refused) {
      const res = await fetch(authorizeUrl(sut.url, params(client, uri)), { redirect: 'manual' });
      expect({ uri, status: res.status, location: res.headers.get('location') }).toEqual({ uri, status: 400, location: null });
      expect(await res.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('redirect_uri') });
    }
    for (const uri of ['http://127.0.0.1:8765/callback', 'http://127.0.0.1:1234/callback', 'http://127.0.0.1/callback']) {
      const res = await fetch(authorizeUrl(sut.url, params(loop, uri)), { headers: { accept: 'text/html' } });
      expect({ uri, status: res.status }).toEqual({ uri, status: 200 }); // our consent page
    }
  });

  it('Cursor\'s registration (cursor:// with its https and loopback callbacks in one request) is accepted and its cursor:// redirect works; other single-word schemes are refused', async () => {
    const cursor = await registerRaw(['cursor://anysphere.cursor-mcp/oauth/callback', 'https://www.cursor.com/agents/mcp/oauth/callback', 'http://localhost:8787/callback']);
    expect(cursor.status).toBe(201);
    const app = await register(['cursor://anysphere.cursor-mcp/oauth/callback']);
    const done = await authorizeInBrowser(world, authorizeUrl(sut.url, params(app, 'cursor://anysphere.cursor-mcp/oauth/callback')), 'cursor-user@example.com');
    expect(done.consentPages[0].html).toContain('cursor:');
    expect(done.location?.protocol).toBe('cursor:');
    expect(done.location?.searchParams.get('code')).toEqual(expect.any(String));
    for (const uri of ['ms-msdt:/id?x', 'search-ms:query=x', 'javascript://%0aalert(1)', 'data://text/html,x', 'file:///etc/passwd', 'myapp://callback']) {
      const res = await registerRaw([uri]);
      expect({ uri, status: res.status }).toEqual({ uri, status: 400 });
    }
  });

  it('a private-use scheme redirect works end to end after consent', async () => {
    const app = await register(['com.example.app:/oauth/cb']);
    const done = await authorizeInBrowser(world, authorizeUrl(sut.url, params(app, 'com.example.app:/oauth/cb')), 'native@example.com');
    expect(done.consentPages[0].html).toContain('the app on this device');
    expect(done.location?.protocol).toBe('com.example.app:');
    expect(done.location?.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('no open redirector: an error for a client the person has not approved is shown on our page, never redirected (RFC 9700 4.11.2)', async () => {
    const evil = await register(['https://evil.example/land']);
    const url = authorizeUrl(sut.url, { client_id: evil, redirect_uri: 'https://evil.example/land', response_type: 'token', state: 'x' });
    const asProgram = await fetch(url, { redirect: 'manual' });
    expect(asProgram.status).toBe(400);
    expect(asProgram.headers.get('location')).toBeNull();
    expect(await asProgram.json()).toMatchObject({ statusCode: 400, error: 'unsupported_response_type', message: expect.stringContaining('response_type=code') });
    const asBrowser = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(asBrowser.status).toBe(400);
    expect(asBrowser.headers.get('location')).toBeNull();
    expect(asBrowser.headers.get('content-type')).toMatch(/^text\/html/);
    expect(asBrowser.headers.get('x-frame-options')).toBe('DENY');
    expect(await asBrowser.text()).toContain('response_type=code');
    // The same for every other error found before the person interacted.
    const others: Array<Record<string, string>> = [{ response_type: 'code' }, { response_type: 'code', code_challenge: CHALLENGE, code_challenge_method: 'plain' }, { response_type: 'code', code_challenge: CHALLENGE, code_challenge_method: 'S256', resource: 'https://elsewhere.example/' }];
    for (const extra of others) {
      const res = await fetch(authorizeUrl(sut.url, { client_id: evil, redirect_uri: 'https://evil.example/land', ...extra }), { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    }
  });

  it('an unknown client or a missing redirect_uri with several registered is an error page, not a redirect', async () => {
    const two = await register(['https://app.example/a', 'https://app.example/b']);
    const { redirect_uri: _omitted, ...withoutRedirect } = params(two, 'https://app.example/a');
    for (const query of [params('wsb_AAAAAAAAAAAAAAAAAAAAAA', 'https://app.example/a'), withoutRedirect]) {
      const res = await fetch(authorizeUrl(sut.url, query), { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    }
  });
});
