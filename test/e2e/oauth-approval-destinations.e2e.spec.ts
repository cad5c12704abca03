import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Browser } from '../support/http-client.js';
import { readObject, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { approvalKey, authorizeInBrowser, authorizeUrl, pkceRequest as request, registerPublicClient as register } from '../support/oauth-consent.js';

const LOOPBACK = 'http://127.0.0.1:8765/callback';
const ATTACKER = 'https://attacker.example/steal';

/**
 * A client may register several redirect URIs, and the consent page names only the one of the request it shows. An
 * approval given on a page that named a harmless destination (an app on this computer, no warning) must not send a
 * later code, without any page, to another registered destination the page would have warned about.
 */
describe('An approval covers the redirect URIs its consent page named, no other', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
  });
  afterAll(async () => {
    await stopAll(world, sut);
  });

  it('a victim who allowed the loopback callback is shown the page, with its warning, before a code goes to attacker.example', async () => {
    const client = await register(sut, { client_name: 'Local helper', redirect_uris: [LOOPBACK, ATTACKER] });
    const victim = new Browser();
    const first = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), 'dest@example.com', { browser: victim });
    expect(first.consentPages).toHaveLength(1);
    expect(first.consentPages[0].warning).toBeUndefined(); // an application on this computer
    expect(first.location?.searchParams.get('code')).toEqual(expect.any(String));

    // The attacker now sends the victim's browser to the other registered URI: our page, naming it, with the warning.
    const second = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, ATTACKER)).params), 'dest@example.com', { browser: victim, decide: () => 'deny' });
    expect(second.consentPages.map((p) => p.host)).toEqual(['attacker.example']);
    expect(second.consentPages[0].warning).toContain('attacker.example');
    expect(second.location?.searchParams.get('code')).toBeNull();
    expect(second.location?.searchParams.get('error')).toBe('access_denied');

    // The loopback callback, on another port (RFC 8252), is still covered: no page.
    const again = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, 'http://127.0.0.1:9999/callback')).params), 'dest@example.com', { browser: victim });
    expect(again.consentPages).toHaveLength(0);
    expect(again.location?.searchParams.get('code')).toEqual(expect.any(String));
    const { json } = await readObject(world, approvalKey('dest@example.com', client));
    expect(json).toMatchObject({ redirectUris: [LOOPBACK] });
  });

  it('an error is not redirected to a registered URI the remembered user never allowed (no open redirector)', async () => {
    const client = await register(sut, { client_name: 'Local helper 2', redirect_uris: [LOOPBACK, ATTACKER] });
    const victim = new Browser();
    await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), 'redir@example.com', { browser: victim });
    const bad = { ...(await request(client, ATTACKER)).params, response_type: 'token' };
    const res = await victim.get(authorizeUrl(sut.url, bad), { accept: 'text/html' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('unsupported_response_type');
    // ... while the allowed one still hears its error (the person trusts the client there).
    const allowed = await victim.get(authorizeUrl(sut.url, { ...(await request(client, LOOPBACK)).params, response_type: 'token' }), { accept: 'text/html' });
    expect(allowed.status).toBe(302);
    expect(new URL(allowed.headers.get('location') as string).searchParams.get('error')).toBe('unsupported_response_type');
  });

  it('an approval recorded before destinations were (none listed) covers nothing: the person is asked once more', async () => {
    const client = await register(sut, { client_name: 'Older', redirect_uris: [LOOPBACK] });
    const browser = new Browser();
    await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), 'older@example.com', { browser });
    const key = approvalKey('older@example.com', client);
    const { json } = await readObject(world, key);
    const { redirectUris: _dropped, ...before } = json as Record<string, unknown>;
    await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: JSON.stringify(before), ContentType: 'application/json' }));
    const asked = await authorizeInBrowser(world, authorizeUrl(sut.url, (await request(client, LOOPBACK)).params), 'older@example.com', { browser });
    expect(asked.consentPages).toHaveLength(1);
    expect(asked.location?.searchParams.get('code')).toEqual(expect.any(String));
    expect((await readObject(world, key)).json).toMatchObject({ redirectUris: [LOOPBACK] });
  });
});
