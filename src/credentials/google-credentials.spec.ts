import { fromDocument, mergeCredentials, toDocument, type GoogleCredentials } from './google-credentials.js';

const stored: GoogleCredentials = {
  email: 'a@example.com',
  token: 'old-access',
  refreshToken: 'the-refresh-token',
  tokenUri: 'https://oauth2.googleapis.com/token',
  clientId: 'client',
  scopes: ['openid', 'email'],
  expiry: new Date('2026-01-01T00:00:00Z'),
};

describe('mergeCredentials', () => {
  it.each([
    ['no refresh_token', { token: 'new', expiry: new Date('2026-02-01T00:00:00Z') }],
    ['an empty refresh_token', { token: 'new', refreshToken: '' }],
    ['an undefined refresh_token and no scopes', { token: 'new', refreshToken: undefined, scopes: [] }],
    ['nothing at all', {}],
  ])('keeps the stored refresh token when the update has %s', (_name, patch) => {
    const sut = mergeCredentials(stored, stored.email, patch);
    expect(sut.refreshToken).toBe('the-refresh-token');
    expect(sut.scopes).toEqual(['openid', 'email']);
    expect(sut.clientId).toBe('client');
    expect(sut.tokenUri).toBe(stored.tokenUri);
  });

  it('takes every value the update does carry', () => {
    const expiry = new Date('2026-03-01T00:00:00Z');
    const sut = mergeCredentials(stored, stored.email, { token: 'new', refreshToken: 'rotated', scopes: ['openid'], expiry });
    expect(sut).toMatchObject({ token: 'new', refreshToken: 'rotated', scopes: ['openid'], expiry });
  });
});

describe('credential documents', () => {
  it('reads google_workspace_mcp files: naive UTC expiry with microseconds, client_secret ignored', () => {
    const sut = fromDocument('a@example.com', {
      token: 'ya29.x',
      refresh_token: '1//r',
      token_uri: 'https://oauth2.googleapis.com/token',
      client_id: 'cid',
      client_secret: 'must-not-survive',
      scopes: ['https://www.googleapis.com/auth/gmail.readonly'],
      expiry: '2025-06-01T10:00:00.123456',
    });
    expect(sut?.expiry?.toISOString()).toBe('2025-06-01T10:00:00.123Z');
    expect(sut?.refreshToken).toBe('1//r');
    expect(JSON.stringify(toDocument(sut as GoogleCredentials))).not.toContain('must-not-survive');
  });

  it('reads a space separated scope string', () => {
    expect(fromDocument('a@example.com', { scopes: 'openid email' })?.scopes).toEqual(['openid', 'email']);
  });

  it('writes version 1 with the agreed field names', () => {
    expect(Object.keys(toDocument(stored))).toEqual(['version', 'email', 'token', 'refresh_token', 'token_uri', 'client_id', 'scopes', 'expiry', 'updated_at']);
  });
});
