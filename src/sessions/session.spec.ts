import { fromSessionDocument, makeSession, toSessionDocument } from './session.js';

const ID = 'a'.repeat(43);

describe('session documents (DESIGN.md: {"version":1,"session_id","email","created_at","expires_at"})', () => {
  it('writes ISO-8601 times and reads back the same instants', () => {
    const created = Date.parse('2026-12-03T10:00:00.123Z');
    const session = makeSession(ID, 'ann@example.com', created, created + 3_600_000);
    const doc = toSessionDocument(session);
    expect(doc).toEqual({ version: 1, session_id: ID, email: 'ann@example.com', created_at: '2026-12-03T10:00:00.123Z', expires_at: '2026-12-03T11:00:00.123Z' });
    expect(fromSessionDocument(ID, JSON.parse(JSON.stringify(doc)))).toEqual(session);
  });

  it('keeps the binding to its user for life: a session cannot be changed once made', () => {
    const session = makeSession(ID, 'ann@example.com', 0, 1);
    expect(() => Object.assign(session, { email: 'eve@example.com' })).toThrow(TypeError);
    expect(session.email).toBe('ann@example.com');
  });

  it.each([
    ['an unreadable created_at', { created_at: 'yesterday' }],
    ['an unreadable expires_at', { expires_at: '' }],
    ['another session id than its key', { session_id: 'b'.repeat(43) }],
    ['no email', { email: undefined }],
  ])('reads a document with %s as no session', (_what, change) => {
    const doc = { ...toSessionDocument(makeSession(ID, 'ann@example.com', 0, 1)), ...change };
    expect(fromSessionDocument(ID, doc)).toBeUndefined();
  });
});
