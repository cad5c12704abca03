/** A sign-in session. Frozen: the session-to-user binding is fixed for the session's life. */
export interface Session {
  readonly sessionId: string;
  readonly email: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
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
export function makeSession(sessionId: string, email: string, createdAt: Date, expiresAt: Date): Session {
  return Object.freeze({ sessionId, email, createdAt, expiresAt });
}

/** Serialises a session for S3. */
export function toSessionDocument(s: Session): SessionDocument {
  return { version: 1, session_id: s.sessionId, email: s.email, created_at: s.createdAt.toISOString(), expires_at: s.expiresAt.toISOString() };
}

/** Reads a stored session; undefined when malformed or stored under another id than the key says. */
export function fromSessionDocument(sessionId: string, raw: unknown): Session | undefined {
  const d = raw as Partial<SessionDocument> | undefined;
  if (!d || d.session_id !== sessionId || typeof d.email !== 'string' || !d.created_at || !d.expires_at) return undefined;
  const created = new Date(d.created_at);
  const expires = new Date(d.expires_at);
  if (Number.isNaN(created.getTime()) || Number.isNaN(expires.getTime())) return undefined;
  return makeSession(sessionId, d.email, created, expires);
}

/** Session ids are 32 random bytes, base64url: this shape is checked before any lookup. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
