/** A sign-in session. Frozen: the session-to-user binding is fixed for the session's life. */
export interface Session {
  readonly sessionId: string;
  readonly email: string;
  // Milliseconds since the epoch, not Dates: a replica holds up to SESSION_CACHE_MAX sessions, and a V8 Date is a
  // ~100-byte heap object of its own (two per session were ~200 of the ~900 bytes a cached session cost; target 5).
  /** When it was created (ms since the epoch). */
  readonly createdAtMs: number;
  /** When it ends (ms since the epoch). */
  readonly expiresAtMs: number;
}

/** The S3 document `{S3_SESSION_PREFIX}{session_id}.json`. */
export interface SessionDocument {
  version: 1;
  session_id: string;
  email: string;
  created_at: string;
  expires_at: string;
}

/** Builds a frozen session. */
export function makeSession(sessionId: string, email: string, createdAtMs: number, expiresAtMs: number): Session {
  return Object.freeze({ sessionId, email, createdAtMs, expiresAtMs });
}

/** Serialises a session for S3. */
export function toSessionDocument(s: Session): SessionDocument {
  return { version: 1, session_id: s.sessionId, email: s.email, created_at: new Date(s.createdAtMs).toISOString(), expires_at: new Date(s.expiresAtMs).toISOString() };
}

/** Reads a stored session; undefined when malformed or stored under another id than the key says. */
export function fromSessionDocument(sessionId: string, raw: unknown): Session | undefined {
  const d = raw as Partial<SessionDocument> | undefined;
  if (!d || d.session_id !== sessionId || typeof d.email !== 'string' || !d.created_at || !d.expires_at) return undefined;
  const created = Date.parse(d.created_at);
  const expires = Date.parse(d.expires_at);
  if (Number.isNaN(created) || Number.isNaN(expires)) return undefined;
  return makeSession(sessionId, d.email, created, expires);
}

/** Session ids are 32 random bytes, base64url: this shape is checked before any lookup. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
