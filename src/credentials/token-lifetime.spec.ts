import { tokenLifetimeSeconds } from './token-lifetime.js';

describe('tokenLifetimeSeconds', () => {
  it("keeps Google's usual lifetimes, numbers or numeric strings", () => {
    expect(tokenLifetimeSeconds(3599)).toBe(3599);
    expect(tokenLifetimeSeconds('3599')).toBe(3599);
  });

  it('takes an hour when the answer gives no positive number', () => {
    for (const odd of [undefined, null, 'soon', {}, [], 0, -5, NaN, Infinity, true]) expect([odd, tokenLifetimeSeconds(odd)]).toEqual([odd, 3600]);
  });

  it('stretches short lifetimes past the refresh-ahead and cuts long ones to a day, so the expiry is a valid Date', () => {
    expect(tokenLifetimeSeconds(30)).toBe(300);
    expect(tokenLifetimeSeconds(1e13)).toBe(86400);
    expect(new Date(Date.now() + tokenLifetimeSeconds(1e13) * 1000).toISOString()).toMatch(/^\d{4}-/);
  });
});
