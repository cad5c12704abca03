import { MAX_JSON_DEPTH, nestedDeeperThan } from './json-body.js';

const deep = (n: number) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`);

describe('nestedDeeperThan', () => {
  it('counts arrays and objects, up to the limit and past it', () => {
    expect(nestedDeeperThan(deep(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestedDeeperThan(deep(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(nestedDeeperThan(Buffer.from('{"a":{"b":[{"c":1}]}}'), 3)).toBe(true);
    expect(nestedDeeperThan(Buffer.from('{"a":{"b":[{"c":1}]}}'), 4)).toBe(false);
  });

  it('skips brackets inside strings, escaped quotes and backslashes included', () => {
    expect(nestedDeeperThan(Buffer.from(JSON.stringify({ s: '[[[[{{{{' })), 1)).toBe(false);
    expect(nestedDeeperThan(Buffer.from(JSON.stringify({ s: 'a"[[[["b' })), 1)).toBe(false);
    expect(nestedDeeperThan(Buffer.from(JSON.stringify({ s: 'ends with \\', t: [[[1]]] })), 3)).toBe(true);
    expect(nestedDeeperThan(Buffer.from(JSON.stringify({ s: 'ends with \\', t: [[[1]]] })), 4)).toBe(false);
  });

  it('leaves an unterminated string to JSON.parse', () => {
    expect(nestedDeeperThan(Buffer.from('{"a":"[[[['), 1)).toBe(false);
  });
});
