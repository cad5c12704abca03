/**
 * Which session ids this replica holds in memory for each user, so a revocation finds a user's sessions without
 * walking every session in memory (a walk over 100,000 sessions blocked the event loop for several milliseconds
 * per revoke). Most users have one session: it is kept as a plain string, a list only from the second one on,
 * which costs about one Map entry per user.
 */
export class SessionsByUser {
  private readonly ids = new Map<string, string | string[]>();

  /** Records that `sessionId` belongs to `email` (idempotent). */
  add(email: string, sessionId: string): void {
    const held = this.ids.get(email);
    if (held === undefined) this.ids.set(email, sessionId);
    else if (typeof held === 'string') {
      if (held !== sessionId) this.ids.set(email, [held, sessionId]);
    } else if (!held.includes(sessionId)) held.push(sessionId);
  }

  /** Forgets `sessionId` of `email` (idempotent). */
  remove(email: string, sessionId: string): void {
    const held = this.ids.get(email);
    if (held === sessionId) this.ids.delete(email);
    else if (Array.isArray(held)) {
      const left = held.filter((id) => id !== sessionId);
      if (left.length === held.length) return;
      this.ids.set(email, left.length === 1 ? left[0] : left);
    }
  }

  /** The ids recorded for `email`. */
  of(email: string): readonly string[] {
    const held = this.ids.get(email);
    return held === undefined ? [] : typeof held === 'string' ? [held] : [...held];
  }

  /** How many users have at least one session recorded. */
  get users(): number {
    return this.ids.size;
  }
}
