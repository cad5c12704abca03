import { JwtService } from '@nestjs/jwt';
import jsonwebtoken from 'jsonwebtoken';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { AppConfig } from '../config/app-config.js';
import { BearerTokenService, keyId } from './bearer-token.service.js';
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

describe('BearerTokenService signing-key rotation (JWT_ACCEPTED_SECRETS, JWT_ACCEPTED_PUBLIC_KEYS)', () => {
  const OLD = 'o'.repeat(48);
  const NEW = 'n'.repeat(48);
  const resources = { known: (scopes: readonly string[]) => [...scopes] } as unknown as ProtectedResources;
  const hs = (secret: string, acceptedSecrets: string[] = []) =>
    new BearerTokenService(
      new JwtService(),
      { values: { publicUrl: BASE, jwt: { algorithm: 'HS256', secret, acceptedSecrets, issuer: BASE, audience: 'workspace-api', ttlSeconds: 3600 } } } as unknown as AppConfig,
      resources,
    );
  const ecPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const es = (privateKey: KeyObject, accepted: KeyObject[] = []) =>
    new BearerTokenService(
      new JwtService(),
      {
        values: {
          publicUrl: BASE,
          jwt: {
            algorithm: 'ES256',
            privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
            acceptedPublicKeys: accepted.map((k) => k.export({ type: 'spki', format: 'pem' })),
            issuer: BASE,
            audience: 'workspace-api',
            ttlSeconds: 3600,
          },
        },
      } as unknown as AppConfig,
      resources,
    );
  const header = (token: string) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as Record<string, unknown>;
  /** A token as this service issued them before tokens carried a kid: the same claims, signed by `secret`, no kid. */
  const kidless = (secret: string, claims: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return jsonwebtoken.sign(
      { sub: 'old@example.com', email: 'old@example.com', sid: 'sid-old', iat: now, exp: now + 600, jti: 'j-old', scope: '', ...claims },
      secret,
      { algorithm: 'HS256', issuer: BASE, audience: 'workspace-api' },
    );
  };

  it('names the signing key in a kid header: a one-way hash for HS256 that reveals nothing of the secret', async () => {
    const { accessToken } = await hs(NEW).issue(session('alice@example.com', 'sid-alice'));
    const h = header(accessToken);
    expect(h).toMatchObject({ alg: 'HS256', kid: keyId('HS256', NEW) });
    expect(h.kid).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(accessToken).not.toContain(Buffer.from(NEW).toString('base64url').slice(0, 16));
    expect(keyId('HS256', OLD)).not.toBe(keyId('HS256', NEW));
  });

  it('phases 1 and 2: a replica on the old key accepting the new one and a replica on the new key accepting the old one take each other\'s tokens', async () => {
    const a = hs(OLD, [NEW]); // phase 1 (or a replica not yet rolled in phase 2)
    const b = hs(NEW, [OLD]); // phase 2
    const fromA = (await a.issue(session('alice@example.com', 'sid-a'))).accessToken;
    const fromB = (await b.issue(session('bob@example.com', 'sid-b'))).accessToken;
    expect(header(fromA).kid).toBe(keyId('HS256', OLD));
    expect(header(fromB).kid).toBe(keyId('HS256', NEW)); // signed with the new key, never with an accepted one
    for (const replica of [a, b]) {
      expect(replica.verify(fromA)?.sid).toBe('sid-a');
      expect(replica.verify(fromB)?.sid).toBe('sid-b');
    }
    // Before this change a replica knew one key: the other's tokens were refused for the whole rollout.
    expect(hs(OLD).verify(fromB)).toBeUndefined();
  });

  it('phase 3: once the old key is no longer accepted, its tokens are refused (with or without a kid), expired or not', async () => {
    const old = (await hs(OLD).issue(session('alice@example.com', 'sid-a'))).accessToken;
    const after = hs(NEW);
    expect(after.verify(old)).toBeUndefined();
    expect(after.verifyIgnoringExpiry(old)).toBeUndefined(); // not even for /auth/revoke
    expect(after.verify(kidless(OLD))).toBeUndefined();
    // With some other key accepted too (another rotation under way), the dropped key's kid is still unknown.
    const other = hs(NEW, ['x'.repeat(48)]);
    expect(other.verify(old)).toBeUndefined();
    expect(other.verify(kidless(OLD))).toBeUndefined();
  });

  it('accepts tokens issued before tokens carried a kid, signed by the signing key or an accepted one (the upgrade logs no one out)', () => {
    expect(hs(NEW).verify(kidless(NEW))?.sid).toBe('sid-old');
    expect(hs(NEW, [OLD]).verify(kidless(OLD))?.sid).toBe('sid-old');
    expect(hs(NEW, [OLD]).verify(kidless(NEW))?.sid).toBe('sid-old');
    // Still checked: an expired kid-less token is refused, whichever key signed it.
    expect(hs(NEW, [OLD]).verify(kidless(OLD, { exp: Math.floor(Date.now() / 1000) - 10 }))).toBeUndefined();
  });

  it('picks the key by kid but never the algorithm: a token naming an accepted kid with another alg, or none, is refused', async () => {
    const b = hs(NEW, [OLD]);
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'eve@example.com', email: 'eve@example.com', sid: 'sid-e', iat: now, exp: now + 600, jti: 'j', scope: '' };
    const opts = { issuer: BASE, audience: 'workspace-api' } as const;
    // HS384 with the accepted secret itself: right key, wrong algorithm.
    const hs384 = jsonwebtoken.sign(claims, OLD, { ...opts, algorithm: 'HS384', keyid: keyId('HS256', OLD) });
    expect(b.verify(hs384)).toBeUndefined();
    const none = jsonwebtoken.sign(claims, '', { ...opts, algorithm: 'none', keyid: keyId('HS256', OLD) } as jsonwebtoken.SignOptions);
    expect(b.verify(none)).toBeUndefined();
    // A kid naming the new key on a token signed by the old one: checked with the key the kid names, refused.
    const mislabelled = jsonwebtoken.sign(claims, OLD, { ...opts, algorithm: 'HS256', keyid: keyId('HS256', NEW) });
    expect(b.verify(mislabelled)).toBeUndefined();
    expect(b.verify(jsonwebtoken.sign(claims, OLD, { ...opts, algorithm: 'HS256', keyid: keyId('HS256', OLD) }))?.sid).toBe('sid-e');
  });

  it('ES256: the JWKS publishes the signing key and the accepted public keys; each side takes the other\'s tokens by kid', async () => {
    const oldPair = ecPair();
    const newPair = ecPair();
    const a = es(oldPair.privateKey, [newPair.publicKey]);
    const b = es(newPair.privateKey, [oldPair.publicKey]);
    const jwks = b.publicJwks() ?? [];
    expect(jwks.map((k) => k.kid)).toEqual([keyId('ES256', newPair.publicKey.export({ type: 'spki', format: 'pem' }) as string), keyId('ES256', oldPair.publicKey.export({ type: 'spki', format: 'pem' }) as string)]);
    expect(jwks.every((k) => k.alg === 'ES256' && k.use === 'sig' && !('d' in k))).toBe(true);
    const fromA = (await a.issue(session('alice@example.com', 'sid-a'))).accessToken;
    const fromB = (await b.issue(session('bob@example.com', 'sid-b'))).accessToken;
    expect(header(fromB).kid).toBe(jwks[0].kid);
    expect(a.verify(fromB)?.sid).toBe('sid-b');
    expect(b.verify(fromA)?.sid).toBe('sid-a');
    expect(es(newPair.privateKey).verify(fromA)).toBeUndefined(); // old key dropped
    expect(es(newPair.privateKey).publicJwks()).toHaveLength(1);
    // The HS256-with-the-public-key confusion: refused, the algorithm is pinned to ES256.
    const now = Math.floor(Date.now() / 1000);
    const confused = jsonwebtoken.sign(
      { sub: 'eve@example.com', email: 'eve@example.com', sid: 's', iat: now, exp: now + 600, jti: 'j' },
      oldPair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      { algorithm: 'HS256', issuer: BASE, audience: 'workspace-api', keyid: jwks[1].kid, allowInsecureKeySizes: true } as jsonwebtoken.SignOptions,
    );
    expect(b.verify(confused)).toBeUndefined();
  });
});
