import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { getWithBearer, JWT_SECRET, objectExists, postToken, readObject, Service, signIn, startWorldWithService,
  stopAll, type TokenCarrier, World } from '../support/harness.js';

/** A bearer for a real session, signed as the service would (or with another key), with a chosen expiry. */
function craftToken(email: string, sessionId: string, opts: { expiredSecondsAgo?: number; secret?: string; issuer?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const exp = opts.expiredSecondsAgo === undefined ? now + 600 : now - opts.expiredSecondsAgo;
  return new SignJWT({ email, sid: sessionId, jti: randomUUID() })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(email)
    .setIssuer(opts.issuer ?? 'https://broker.test')
    .setAudience('workspace-api')
    .setIssuedAt(exp - 3600)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(opts.secret ?? JWT_SECRET));
}

const ROUTES = ['/v1/users/me/gmail/messages', '/v1/users/me/drive/files', '/v1/users/me/calendar/events'];

describe('Scenario 4: revocation', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  const revoke = (token: string, how: TokenCarrier = 'header') => postToken(sut, '/auth/revoke', token, how);

  it('deletes the credentials, ends every session, revokes the refresh token at Google, and blocks the bearer', async () => {
    const first = await signIn(sut, world, 'rita@example.com');
    const second = await signIn(sut, world, 'rita@example.com');
    const { json: stored } = await readObject(world, 'credentials/rita@example.com.json');

    const revocationsBefore = world.google.revocations.length;
    const res = await revoke(first.access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: true });

    expect(await objectExists(world, 'credentials/rita@example.com.json')).toBe(false);
    expect(await objectExists(world, `sessions/${first.session_id}.json`)).toBe(false);
    expect(await objectExists(world, `sessions/${second.session_id}.json`)).toBe(false);
    const sent = world.google.revocations.slice(revocationsBefore);
    // The refresh token is what gets revoked: an expired access token could not be.
    expect(sent).toEqual([stored.refresh_token]);
    for (const token of [first.access_token, second.access_token]) {
      expect((await getWithBearer(sut, '/auth/session', token)).status).toBe(401);
      for (const route of ROUTES) expect((await getWithBearer(sut, route, token)).status).toBe(401);
    }
  });

  it('is idempotent: the same token again gets 200 and changes nothing', async () => {
    const { access_token } = await signIn(sut, world, 'sam@example.com');
    expect((await revoke(access_token, 'json')).status).toBe(200);
    // Sam signs in again; replaying the old revocation must not touch the new sign-in.
    const again = await signIn(sut, world, 'sam@example.com');
    const revocationsBefore = world.google.revocations.length;
    const res = await revoke(access_token, 'form');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: true });
    expect(world.google.revocations.length).toBe(revocationsBefore);
    expect(await objectExists(world, 'credentials/sam@example.com.json')).toBe(true);
    expect((await getWithBearer(sut, '/auth/session', again.access_token)).status).toBe(200);
  });

  it('refuses a forged token with 401 and a request without a token with 400', async () => {
    const forged = await revoke('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl');
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ statusCode: 401, error: 'invalid_token' });
    const missing = await fetch(`${sut.url}/auth/revoke`, { method: 'POST' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ statusCode: 400, message: expect.stringContaining('token') });
  });

  it('refuses an expired, a foreign-key or a foreign-issuer token for a live session with 401, and changes nothing', async () => {
    const live = await signIn(sut, world, 'uma@example.com');
    const revocationsBefore = world.google.revocations.length;
    const attempts = [
      await craftToken('uma@example.com', live.session_id, { expiredSecondsAgo: 5 }),
      await craftToken('uma@example.com', live.session_id, { secret: 'another-service-secret-that-is-32-bytes-long!!' }),
      await craftToken('uma@example.com', live.session_id, { issuer: 'https://elsewhere.example' }),
    ];
    // The crafted form is right: the same claims, signed properly and unexpired, are accepted by the service.
    expect((await getWithBearer(sut, '/auth/session', await craftToken('uma@example.com', live.session_id))).status).toBe(200);
    for (const token of attempts) {
      const res = await revoke(token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ statusCode: 401, error: 'invalid_token', message: expect.stringMatching(/expired|not a live/) });
    }
    expect(world.google.revocations.length).toBe(revocationsBefore);
    expect(await objectExists(world, 'credentials/uma@example.com.json')).toBe(true);
    expect(await objectExists(world, `sessions/${live.session_id}.json`)).toBe(true);
    expect((await getWithBearer(sut, '/v1/users/me/drive/files', live.access_token)).status).toBe(200);
  });

  it('logout ends only the current session; credentials and other sessions stay', async () => {
    const a = await signIn(sut, world, 'tom@example.com');
    const b = await signIn(sut, world, 'tom@example.com');
    const res = await fetch(`${sut.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${a.access_token}` } });
    expect(res.status).toBe(204);
    expect((await getWithBearer(sut, '/auth/session', a.access_token)).status).toBe(401);
    expect(await objectExists(world, `sessions/${a.session_id}.json`)).toBe(false);
    expect((await getWithBearer(sut, '/v1/users/me/drive/files', b.access_token)).status).toBe(200);
    expect(await objectExists(world, 'credentials/tom@example.com.json')).toBe(true);
  });
});
