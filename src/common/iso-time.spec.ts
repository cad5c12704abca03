import { isoTime } from './iso-time.js';

describe('isoTime', () => {
  it('gives what toISOString gives, first and remembered, also past the bound where it starts over', () => {
    const base = Date.UTC(2026, 11, 3, 21, 0, 0, 0);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5_000; i++) {
        const ms = base + i * 1_001;
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }
    }
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('throws for a time that is not one, as toISOString does', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
