import { growingLru } from './growing-lru.js';

describe('growingLru', () => {
  it('holds at most max entries, dropping the least recently used first', () => {
    const cache = growingLru<string, number>({ max: 3 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBe(1); // a is now the most recently used
    cache.set('d', 4);
    expect(cache.size).toBe(3);
    expect(cache.has('b')).toBe(false);
    expect([...cache.keys()].sort()).toEqual(['a', 'c', 'd']);
    for (let i = 0; i < 1000; i++) cache.set(`k${i}`, i);
    expect(cache.size).toBe(3);
    expect([...cache.keys()].sort()).toEqual(['k997', 'k998', 'k999']);
  });

  it('a replaced entry keeps the count (no eviction), a deleted one frees its place', () => {
    const cache = growingLru<string, number>({ max: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 10);
    expect(cache.get('a')).toBe(10);
    expect(cache.get('b')).toBe(2);
    cache.delete('a');
    cache.set('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBe(2);
  });

  it('entries expire after ttl', async () => {
    const cache = growingLru<string, number>({ max: 10, ttl: 20 });
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
    await new Promise((r) => setTimeout(r, 40));
    expect(cache.get('a')).toBeUndefined();
  });

  it('tells onLeave of every entry that leaves: evicted, replaced or deleted, and only once', () => {
    const left: Array<[string, number]> = [];
    const cache = growingLru<string, number>({ max: 2, onLeave: (value, key) => left.push([key, value]) });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3); // evicts a
    cache.set('b', 20); // replaces b
    cache.delete('c');
    expect(left).toEqual([['a', 1], ['b', 2], ['c', 3]]);
    expect(cache.get('b')).toBe(20);
  });
});
