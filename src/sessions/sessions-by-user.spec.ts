import { SessionsByUser } from './sessions-by-user.js';

describe('SessionsByUser', () => {
  it('holds each user\'s session ids apart, without repeats', () => {
    const index = new SessionsByUser();
    index.add('ana@example.com', 's1');
    index.add('ana@example.com', 's1');
    index.add('bob@example.com', 's2');
    index.add('ana@example.com', 's3');
    expect(index.of('ana@example.com')).toEqual(['s1', 's3']);
    expect(index.of('bob@example.com')).toEqual(['s2']);
    expect(index.of('eve@example.com')).toEqual([]);
    expect(index.users).toBe(2);
  });

  it('forgets ids one by one, and a user once none is left', () => {
    const index = new SessionsByUser();
    for (const id of ['s1', 's2', 's3']) index.add('ana@example.com', id);
    index.remove('ana@example.com', 's2');
    index.remove('ana@example.com', 'not-hers');
    index.remove('bob@example.com', 's1'); // another user's id of the same name changes nothing of hers
    expect(index.of('ana@example.com')).toEqual(['s1', 's3']);
    index.remove('ana@example.com', 's1');
    expect(index.of('ana@example.com')).toEqual(['s3']);
    index.remove('ana@example.com', 's3');
    expect(index.of('ana@example.com')).toEqual([]);
    expect(index.users).toBe(0);
  });

  it('hands out a copy: what the caller does with it does not change the index', () => {
    const index = new SessionsByUser();
    index.add('ana@example.com', 's1');
    index.add('ana@example.com', 's2');
    (index.of('ana@example.com') as string[]).pop();
    expect(index.of('ana@example.com')).toEqual(['s1', 's2']);
  });
});
