import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { SignInHandoff } from './sign-in-handoff.js';

const request = { clientId: 'client-1', redirectUri: 'http://127.0.0.1:8765/callback', codeChallenge: 'c'.repeat(43), state: 's', scope: 'openid' };

describe('SignInHandoff (the OAuth request sealed into the /auth/google?handoff= link)', () => {
  afterEach(() => jest.useRealTimers());

  it('opens what it sealed, and nothing sealed with another flow cookie key', async () => {
    const key = randomBytes(32);
    const sealed = await new SignInHandoff(key).seal(request);
    expect(sealed).not.toContain('client-1'); // encrypted, not merely signed
    expect(await new SignInHandoff(key).open(sealed)).toEqual(request);
    expect(await new SignInHandoff(randomBytes(32)).open(sealed)).toBeUndefined();
  });

  it('refuses a link older than 10 minutes', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-02T10:00:00Z') });
    const handoff = new SignInHandoff(randomBytes(32));
    const sealed = await handoff.seal(request);
    jest.setSystemTime(new Date('2026-12-02T10:09:30Z'));
    expect(await handoff.open(sealed)).toEqual(request);
    jest.setSystemTime(new Date('2026-12-02T10:10:30Z'));
    expect(await handoff.open(sealed)).toBeUndefined();
  });
});

describe('SignInHandoff during a signing-key rotation', () => {
  it('opens a link sealed with an accepted flow cookie key, and seals only with its own', async () => {
    const [current, previous] = [randomBytes(32), randomBytes(32)];
    const onPrevious = new SignInHandoff(previous);
    const rotated = new SignInHandoff(current, [previous]);
    expect(await rotated.open(await onPrevious.seal(request))).toEqual(request);
    const sealedHere = await rotated.seal(request);
    expect(await new SignInHandoff(current).open(sealedHere)).toEqual(request);
    expect(await onPrevious.open(sealedHere)).toBeUndefined(); // sealed with the current key, not the accepted one
    // Once the previous key is dropped, its links no longer open.
    expect(await new SignInHandoff(current).open(await onPrevious.seal(request))).toBeUndefined();
  });
});
