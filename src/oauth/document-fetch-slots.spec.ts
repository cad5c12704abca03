import { FetchSlots, requesterKey } from './document-fetch-slots.js';

describe('metadata document fetch slots', () => {
  const taken = (s: ReturnType<FetchSlots['take']>) => {
    if (typeof s === 'string') throw new Error(`refused: ${s}`);
    return s;
  };

  it('gives one requester and one host their share only, and the total stays bounded', () => {
    const slots = new FetchSlots({ total: 3, perRequester: 1, perHost: 1, waitMs: 0 });
    const a = taken(slots.take('198.51.100.1', 'evil.example'));
    expect(slots.take('198.51.100.1', 'other.example')).toBe('requester');
    expect(slots.take('198.51.100.2', 'evil.example')).toBe('host');
    taken(slots.take('198.51.100.2', 'claude.ai'));
    taken(slots.take('198.51.100.3', 'third.example'));
    expect(slots.take('198.51.100.4', 'fourth.example')).toBe('total');
    expect(slots.size).toBe(3);
    a.release();
    a.release(); // a second release changes nothing
    expect(slots.size).toBe(2);
    taken(slots.take('198.51.100.1', 'evil.example'));
    expect(slots.take('198.51.100.4', 'fourth.example')).toBe('total');
  });

  it('waits for a host or total slot up to waitMs, counting the wait in the requester share', async () => {
    const slots = new FetchSlots({ total: 1, perRequester: 1, perHost: 1, waitMs: 1000 });
    const first = taken(slots.take('198.51.100.1', 'a.example'));
    const waiting = slots.takeWaiting('198.51.100.2', 'b.example');
    expect(slots.take('198.51.100.2', 'c.example')).toBe('requester'); // its wait holds its share
    setTimeout(() => first.release(), 50);
    const second = taken(await waiting);
    expect(slots.size).toBe(1);
    second.release();
    const quick = new FetchSlots({ total: 1, perRequester: 1, perHost: 1, waitMs: 50 });
    taken(quick.take('198.51.100.1', 'a.example'));
    expect(await quick.takeWaiting('198.51.100.2', 'b.example')).toBe('total');
    expect(quick.take('198.51.100.2', 'b.example')).toBe('total'); // share given back after the wait
    expect(await quick.takeWaiting('198.51.100.1', 'b.example')).toBe('requester');
  });

  it('counts an IPv6 /64 as one requester, and an IPv4-mapped address as its IPv4 one', () => {
    expect(requesterKey('2001:db8:aa:bb::1')).toBe(requesterKey('2001:db8:aa:bb:1234:5678:9abc:def0'));
    expect(requesterKey('2001:db8:aa:bb::1')).not.toBe(requesterKey('2001:db8:aa:bc::1'));
    expect(requesterKey('2001:0db8:00aa:00bb::1')).toBe(requesterKey('2001:db8:aa:bb::2'));
    expect(requesterKey('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(requesterKey('198.51.100.7')).toBe('198.51.100.7');
    expect(requesterKey(undefined)).toBe('unknown');
  });
});
