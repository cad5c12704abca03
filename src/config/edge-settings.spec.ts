import { rateLimitSetting, trustProxySetting } from './edge-settings.js';

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['false', false],
    ['0', false],
    ['true', true],
    ['127.0.0.1', ['127.0.0.1']],
    ['10.0.0.0/8, 192.168.1.10 ,fd00::/8', ['10.0.0.0/8', '192.168.1.10', 'fd00::/8']],
    ['loopback,uniquelocal', ['loopback', 'uniquelocal']],
  ])('reads %p as %p', (raw, expected) => {
    expect(trustProxySetting.parse(raw)).toEqual(expected);
  });

  it.each([['1'], ['2'], ['proxy.internal'], ['10.0.0.0/33'], ['::1/129'], ['10.0.0.1/8/1'], [',']])('refuses %p', (raw) => {
    expect(trustProxySetting.safeParse(raw).success).toBe(false);
  });
});

describe('RATE_LIMIT_*', () => {
  const sut = rateLimitSetting('30/3600');

  it('reads <requests>/<seconds>, the default, and off', () => {
    expect(sut.parse('5/60')).toEqual({ limit: 5, windowSeconds: 60 });
    expect(sut.parse(undefined)).toEqual({ limit: 30, windowSeconds: 3600 });
    expect(sut.parse('OFF')).toBeUndefined();
  });

  it.each([['0/60'], ['5/0'], ['5'], ['5 per minute'], ['-1/60'], ['1.5/60']])('refuses %p', (raw) => {
    expect(sut.safeParse(raw).success).toBe(false);
  });
});
