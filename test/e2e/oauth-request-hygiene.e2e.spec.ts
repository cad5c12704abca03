import { startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { authorizeUrl, pkceRequest as request, registerPublicClient as register } from '../support/oauth-consent.js';

const LOOPBACK = 'http://127.0.0.1:8765/callback';

/** Parameters that are present but not one usable value are refused, never read as something else. */
describe('OAuth request hygiene', () => {
  let world: World;
  let sut: Service;
  let client: string;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
    client = await register(sut, { client_name: 'Hygiene', redirect_uris: [LOOPBACK] });
  });
  afterAll(async () => {
    await stopAll(world, sut);
  });

  it('a redirect_uri sent twice is refused on our page (RFC 6749 3.1), not taken as left out', async () => {
    const { params } = await request(client, LOOPBACK);
    const url = `${authorizeUrl(sut.url, params)}&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/other')}`;
    const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.json()).toMatchObject({ error: 'invalid_request', message: expect.stringContaining('redirect_uri must be sent once') });
  });
});
