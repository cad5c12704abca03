import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../config/app-config.js';
import { BearerTokenService } from './bearer-token.service.js';
import type { ProtectedResources } from './protected-resources.js';
import type { Session } from './session.js';

const BASE = 'https://broker.example.com';
const SCOPES = ['https://www.googleapis.com/auth/gmail.readonly', 'https://www.googleapis.com/auth/drive.readonly'];

function service(): BearerTokenService {
  const config = { values: { publicUrl: BASE, jwt: { algorithm: 'HS256', secret: 'k'.repeat(48), issuer: BASE, audience: 'workspace-api', ttlSeconds: 3600 } } };
  const resources = { known: (scopes: readonly string[]) => [...scopes] };
  return new BearerTokenService(new JwtService(), config as unknown as AppConfig, resources as unknown as ProtectedResources);
}

function session(email: string, sessionId: string): Session {
  return { email, sessionId, expiresAtMs: Date.now() + 3_600_000 } as Session;
}

/** The same header and claims with another signature: what an attacker holding a cached token's payload can make. */
function resigned(token: string): string {
  const [header, payload, signature] = token.split('.');
  const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
  return `${header}.${payload}.${flipped}`;
}

describe('BearerTokenService verified-claims cache', () => {
  it('answers a cached token with exactly the claims it was issued with, for each user apart', async () => {
    const tokens = service();
    const alice = await tokens.issue(session('alice@example.com', 'sid-alice'), { scopes: SCOPES, clientId: 'client-1' });
    const bob = await tokens.issue(session('bob@example.com', 'sid-bob'), { scopes: SCOPES.slice(0, 1) });
    for (let round = 0; round < 2; round++) {
      expect(tokens.verify(alice.accessToken)).toMatchObject({
        iss: BASE,
        aud: 'workspace-api',
        sub: 'alice@example.com',
        email: 'alice@example.com',
        sid: 'sid-alice',
        scope: SCOPES.join(' '),
        client_id: 'client-1',
      });
      const claims = tokens.verify(bob.accessToken);
      expect(claims).toMatchObject({ sub: 'bob@example.com', email: 'bob@example.com', sid: 'sid-bob', scope: SCOPES[0] });
      expect(claims).not.toHaveProperty('client_id');
    }
  });

  it('refuses a token whose signature was altered, even while the genuine token is cached', async () => {
    const tokens = service();
    const { accessToken } = await tokens.issue(session('alice@example.com', 'sid-alice'));
    expect(tokens.verify(accessToken)?.sub).toBe('alice@example.com');
    expect(tokens.verify(resigned(accessToken))).toBeUndefined();
    expect(tokens.verifyIgnoringExpiry(resigned(accessToken))).toBeUndefined();
    expect(tokens.verify(`${accessToken}x`)).toBeUndefined();
  });

  it('refuses a token signed by another key with claims identical to a cached one', async () => {
    const ours = service();
    const theirs = new BearerTokenService(
      new JwtService(),
      { values: { publicUrl: BASE, jwt: { algorithm: 'HS256', secret: 'z'.repeat(48), issuer: BASE, audience: 'workspace-api', ttlSeconds: 3600 } } } as unknown as AppConfig,
      { known: (scopes: readonly string[]) => [...scopes] } as unknown as ProtectedResources,
    );
    const genuine = await ours.issue(session('alice@example.com', 'sid-alice'));
    expect(ours.verify(genuine.accessToken)).toBeDefined();
    const forged = await theirs.issue(session('alice@example.com', 'sid-alice'));
    expect(ours.verify(forged.accessToken)).toBeUndefined();
  });

  it('refuses a cached token once it has expired, and verifies it again while it lives', async () => {
    const tokens = service();
    const short = { email: 'alice@example.com', sessionId: 'sid-alice', expiresAtMs: Date.now() + 2_000 } as Session;
    const { accessToken } = await tokens.issue(short);
    const now = Date.now();
    expect(tokens.verify(accessToken)?.sid).toBe('sid-alice');
    expect(tokens.verify(accessToken)?.sid).toBe('sid-alice'); // answered from the recent tokens
    const realNow = Date.now;
    Date.now = () => now + 3_000; // the token's exp is now + 2 s, in whole seconds
    try {
      expect(tokens.verify(accessToken)).toBeUndefined();
      expect(tokens.verify(accessToken)).toBeUndefined();
    } finally {
      Date.now = realNow;
    }
  });

  it('keeps each token to its own claims when more tokens are in use than it remembers by their text', async () => {
    const tokens = service();
    const issued = await Promise.all(Array.from({ length: 1_100 }, (_, i) => tokens.issue(session(`u${i}@example.com`, `sid-${i}`))));
    for (let round = 0; round < 2; round++) {
      issued.forEach(({ accessToken }, i) => expect(tokens.verify(accessToken)?.sid).toBe(`sid-${i}`));
    }
    expect(tokens.verify(resigned(issued[5].accessToken))).toBeUndefined();
  });
});
