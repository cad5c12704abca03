import type { GoogleCredentials } from './google-credentials.js';
import { mergeRefresh } from './refresh-merge.js';

const inAnHour = () => new Date(Date.now() + 3600_000);
const NARROW = ['openid', 'gmail.readonly'];
const WIDE = [...NARROW, 'gmail.send'];

/** What S3 holds when the refresh writes: by default a sign-in's wider grant stored while the refresh ran. */
const storedNow = (overrides: Partial<GoogleCredentials> = {}): GoogleCredentials => ({
  email: 'a@example.com',
  token: 'signed-in-access',
  refreshToken: 'rt-1',
  tokenUri: 'https://oauth2.googleapis.com/token',
  clientId: 'client',
  scopes: WIDE,
  expiry: inAnHour(),
  ...overrides,
});

/** Google's answer to a refresh that reached it before the consent: the older scopes. */
const refreshed = { token: 'refreshed-access', expiry: inAnHour(), scopes: NARROW, refreshToken: 'rt-2' };

describe('mergeRefresh', () => {
  it("keeps a wider grant stored meanwhile (its access token, expiry and scopes), with the refresh's refresh token", () => {
    const current = storedNow();
    const sut = mergeRefresh(current, current.email, refreshed, 'expired-access');
    expect(sut).toMatchObject({ token: 'signed-in-access', scopes: WIDE, expiry: current.expiry, refreshToken: 'rt-2' });
  });

  it.each([
    ['S3 still holds the token the refresh replaced', storedNow({ token: 'expired-access' })],
    ['the stored token expires within the skew', storedNow({ expiry: new Date(Date.now() + 30_000) })],
    ['the stored token has no expiry', storedNow({ expiry: undefined })],
    ["the stored scopes are all in Google's answer (another replica's refresh)", storedNow({ scopes: NARROW })],
  ])("writes the refresh's answer when %s", (_case, current) => {
    const sut = mergeRefresh(current, current.email, refreshed, 'expired-access');
    expect(sut).toMatchObject({ token: 'refreshed-access', scopes: NARROW, refreshToken: 'rt-2' });
  });

  it('writes the answer over nothing stored yet (re-created)', () => {
    const from = storedNow({ token: 'expired-access', scopes: NARROW });
    expect(mergeRefresh(undefined, from.email, { ...refreshed, tokenUri: from.tokenUri, clientId: from.clientId }, 'expired-access')).toMatchObject({ token: 'refreshed-access', refreshToken: 'rt-2' });
  });
});
