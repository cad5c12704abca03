import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import { getWithBearer, readObject, signIn } from '../support/harness.js';

/** Sets fields of a token endpoint answer (the real one, from the emulator) to odd values. */
const withFields = (fields: Record<string, unknown>) => (json: unknown) => ({ ...(json as object), ...fields });

/** Lifetimes Google never sends: the stored expiry must still be a real time, within a day, and not in the past. */
const ODD_LIFETIMES: Array<[what: string, value: unknown]> = [
  ['far beyond what a Date holds', 1e13],
  ['negative', -3600],
  ['zero', 0],
  ['a word', 'soon'],
  ['an object', { seconds: 3600 }],
];

/**
 * The token endpoint's answer decides what is stored for a user: the refresh token above all. An answer with odd
 * fields (what a proxy or a Google change could hand over) must not lose the refresh token, store an expiry that
 * breaks the credentials object, or make every call refresh again.
 */
describe('Google token answers with odd fields', () => {
  const app = useAppBehindGoogleProxy({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES });

  const expiryOf = async (email: string) => Date.parse(String((await readObject(app.world, `credentials/${email}.json`)).json.expiry));

  it.each(ODD_LIFETIMES)('a refresh whose expires_in is %s: the call works, the expiry stored is sane, the next call does not refresh', async (what, value) => {
    const email = `refresh-${what.replace(/\W+/g, '-').toLowerCase()}@example.com`;
    const user = await signIn(app.sut, app.world, email);
    const stored = (await readObject(app.world, `credentials/${email}.json`)).json;
    app.world.google.expireAccessTokens(email);
    app.proxy.inject({ method: 'POST', path: '/token', fault: 'reshape', reshape: withFields({ expires_in: value }) });
    const res = await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token);
    expect(res.status).toBe(200);
    const after = (await readObject(app.world, `credentials/${email}.json`)).json;
    expect(after.refresh_token).toBe(stored.refresh_token);
    const expiry = await expiryOf(email);
    expect(expiry).toBeGreaterThan(Date.now() + 30_000);
    expect(expiry).toBeLessThanOrEqual(Date.now() + 24 * 3600 * 1000);
    const refreshes = app.world.google.refreshCount(email);
    expect((await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token)).status).toBe(200);
    expect(app.world.google.refreshCount(email)).toBe(refreshes);
  });

  it('Google rotates the refresh token in an answer whose expires_in no Date can hold: the new refresh token is stored', async () => {
    const email = 'rotation-huge-lifetime@example.com';
    const user = await signIn(app.sut, app.world, email);
    const before = (await readObject(app.world, `credentials/${email}.json`)).json.refresh_token;
    app.world.google.rotateRefreshTokens(true);
    try {
      app.world.google.expireAccessTokens(email);
      app.proxy.inject({ method: 'POST', path: '/token', fault: 'reshape', reshape: withFields({ expires_in: 1e13 }) });
      expect((await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token)).status).toBe(200);
      const after = (await readObject(app.world, `credentials/${email}.json`)).json.refresh_token;
      expect(after).not.toBe(before); // Google revoked the old one when it rotated
      // The stored (rotated) refresh token is the live one: the next refresh works.
      app.world.google.expireAccessTokens(email);
      expect((await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token)).status).toBe(200);
    } finally {
      app.world.google.rotateRefreshTokens(false);
    }
  });

  // The person removed Drive from the grant at Google: the refresh answers with fewer scopes (and, as usual, no
  // refresh token). That narrows what is stored; it must not cost the refresh token or the sessions.
  it('a refresh answered with fewer scopes and no refresh token: the refresh token stays, the Drive call is 403 insufficient_scope, the session lives', async () => {
    const email = 'refresh-fewer-scopes@example.com';
    const user = await signIn(app.sut, app.world, email);
    const before = (await readObject(app.world, `credentials/${email}.json`)).json;
    app.world.google.expireAccessTokens(email);
    const withoutDrive = (json: unknown) => {
      const answer = json as { scope: string; refresh_token?: string };
      return { ...answer, refresh_token: undefined, scope: answer.scope.split(' ').filter((s) => !s.includes('/auth/drive')).join(' ') };
    };
    app.proxy.inject({ method: 'POST', path: '/token', fault: 'reshape', reshape: withoutDrive });
    expect((await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token)).status).toBe(200);
    const after = (await readObject(app.world, `credentials/${email}.json`)).json as { refresh_token: string; scopes: string[] };
    expect(after.refresh_token).toBe(before.refresh_token);
    expect(after.scopes.some((s) => s.includes('/auth/drive'))).toBe(false);
    expect(after.scopes.length).toBeGreaterThan(0);
    const drive = await getWithBearer(app.sut, '/v1/users/me/drive/files', user.access_token);
    expect(drive.status).toBe(403);
    expect(await drive.json()).toMatchObject({ error: 'insufficient_scope' });
    expect((await getWithBearer(app.sut, '/auth/session', user.access_token)).status).toBe(200);
    expect(app.world.google.refreshTokenWorks(after.refresh_token)).toBe(true);
  });

  it('a rotated refresh token that is not a string is ignored: the one stored keeps working', async () => {
    const email = 'rotation-odd@example.com';
    const user = await signIn(app.sut, app.world, email);
    const stored = (await readObject(app.world, `credentials/${email}.json`)).json;
    for (const odd of [12345, { token: 'x' }, '', null]) {
      app.world.google.expireAccessTokens(email);
      app.proxy.inject({ method: 'POST', path: '/token', fault: 'reshape', reshape: withFields({ refresh_token: odd }) });
      expect((await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token)).status).toBe(200);
      expect((await readObject(app.world, `credentials/${email}.json`)).json.refresh_token).toBe(stored.refresh_token);
    }
  });

  it('a first sign-in whose code exchange sends a refresh token that is not a string asks Google again, and stores a usable one', async () => {
    const email = 'sign-in-odd-refresh@example.com';
    app.proxy.inject({ method: 'POST', path: '/token', fault: 'reshape', reshape: withFields({ refresh_token: 12345 }) });
    const user = await signIn(app.sut, app.world, email);
    const stored = (await readObject(app.world, `credentials/${email}.json`)).json;
    expect(stored.refresh_token).toEqual(expect.stringMatching(/./));
    app.world.google.expireAccessTokens(email);
    expect((await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token)).status).toBe(200); // it refreshes
    expect(app.world.google.refreshCount(email)).toBe(1);
  });

  it.each(ODD_LIFETIMES)('a sign-in whose code exchange says expires_in is %s: signed in, with a sane expiry stored', async (what, value) => {
    const email = `sign-in-${what.replace(/\W+/g, '-').toLowerCase()}@example.com`;
    app.proxy.inject({ method: 'POST', path: '/token', fault: 'reshape', reshape: withFields({ expires_in: value }) });
    const user = await signIn(app.sut, app.world, email);
    expect(user.access_token).toEqual(expect.any(String));
    const stored = (await readObject(app.world, `credentials/${email}.json`)).json;
    expect(stored.refresh_token).toEqual(expect.any(String));
    const expiry = await expiryOf(email);
    expect(expiry).toBeGreaterThan(Date.now() + 30_000);
    expect(expiry).toBeLessThanOrEqual(Date.now() + 24 * 3600 * 1000);
    expect((await getWithBearer(app.sut, '/v1/users/me/gmail/messages', user.access_token)).status).toBe(200);
  });
});
