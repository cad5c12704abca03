import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { SealedValues } from './sealed-values.js';

describe('SealedValues with accepted keys (a signing-key rotation under way)', () => {
  afterEach(() => jest.useRealTimers());

  it('seals with the current key and opens with it or an accepted one; a dropped key no longer opens', async () => {
    const [next, previous, stranger] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const rotated = new SealedValues(next, [previous]);
    const fromPrevious = await new SealedValues(previous).seal('consent-form', { n: 1 }, 60);
    expect(await rotated.open('consent-form', fromPrevious)).toMatchObject({ n: 1 });
    expect(await rotated.open('resume', fromPrevious)).toBeUndefined(); // purposes still kept apart
    const sealed = await rotated.seal('resume', { n: 2 }, 60);
    expect(await new SealedValues(next).open('resume', sealed)).toMatchObject({ n: 2 });
    expect(await new SealedValues(previous).open('resume', sealed)).toBeUndefined();
    expect(await new SealedValues(next).open('consent-form', fromPrevious)).toBeUndefined();
    expect(await rotated.open('consent-form', await new SealedValues(stranger).seal('consent-form', { n: 3 }, 60))).toBeUndefined();
  });

  it('refuses an expired value whichever key sealed it', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-07T10:00:00Z') });
    const [next, previous] = [randomBytes(32), randomBytes(32)];
    const sealed = await new SealedValues(previous).seal('remembered-user', { email: 'a@example.com' }, 60);
    jest.setSystemTime(new Date('2026-12-07T10:02:00Z'));
    expect(await new SealedValues(next, [previous]).open('remembered-user', sealed)).toBeUndefined();
  });
});
