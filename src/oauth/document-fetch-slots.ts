import { isIP } from 'node:net';

/** A fetch slot: `release` gives it back (once; later calls do nothing). */
export interface Slot {
  release: () => void;
}

/** Why a fetch could not start now: the requester's share, the document host's share, or every slot is taken. */
export type SlotRefusal = 'requester' | 'host' | 'total';

export interface FetchSlotLimits {
  /** Fetches in flight at once on this replica, whoever asked. */
  total: number;
  /** ... started for one requester (client IP, one IPv6 /64). */
  perRequester: number;
  /** ... of documents on one host. */
  perHost: number;
  /** How long a fetch may wait for its host's or the total's slot to free up (its requester's share never waits). */
  waitMs: number;
}

/**
 * Metadata document fetches in flight on one replica, shared fairly.
 *
 * Decision (docs/mcp.md, "Client ID Metadata Documents"): a single pool of slots, first come first served, let one
 * address that names slow documents on its own host (each holding a slot for the whole 5 s fetch limit) keep every
 * slot busy, so every document not already cached answered 503 for everyone. Now a fetch needs a free slot in three
 * counts at once: the requester's (the client IP as Fastify resolved it under TRUST_PROXY; an IPv6 /64 counts as one,
 * as in the rate limits), the document host's (many addresses naming documents on one slow host still hold one
 * slot), and the total (which keeps the sockets and the libuv threads DNS lookups take bounded, so S3's and Google's
 * lookups still get a thread). One source, an address or a host, holds at most its share; the rest stay free for
 * others. What this cannot stop is many addresses naming documents on many hosts; for that, a document already
 * cached is served from its copy while its refetch cannot start (see ClientMetadataDocuments).
 *
 * A fetch refused for its host's share or the total waits a little (`waitMs`) for a slot rather than being refused
 * at once: the host share would otherwise let a few addresses naming junk URLs on someone else's host (each a quick
 * 404 there) keep that host's one slot taken often enough to turn its real documents away. A waiting fetch counts
 * in its requester's share, so one address cannot queue more than it may run. Waiters are woken on every release
 * and try again (few of them: at most one per requester with a share).
 */
export class FetchSlots {
  private inFlight = 0;
  private readonly byRequester = new Map<string, number>();
  private readonly byHost = new Map<string, number>();

  constructor(private readonly limits: FetchSlotLimits) {}

  private readonly waiters = new Set<() => void>();

  /** A slot now (call `release` exactly once when the fetch's socket and lookup are done), or why there is none. */
  take(requester: string, host: string): Slot | SlotRefusal {
    if ((this.byRequester.get(requester) ?? 0) >= this.limits.perRequester) return 'requester';
    bump(this.byRequester, requester, 1);
    const slot = this.takeReserved(requester, host);
    if (typeof slot === 'string') bump(this.byRequester, requester, -1);
    return slot;
  }

  /** Like take, but waits up to `waitMs` for the host's or the total's slot (never for the requester's own share). */
  async takeWaiting(requester: string, host: string): Promise<Slot | SlotRefusal> {
    if ((this.byRequester.get(requester) ?? 0) >= this.limits.perRequester) return 'requester';
    bump(this.byRequester, requester, 1); // the wait counts in the requester's share
    const end = Date.now() + this.limits.waitMs;
    for (;;) {
      const slot = this.takeReserved(requester, host);
      const left = end - Date.now();
      if (typeof slot !== 'string' || left <= 0) {
        if (typeof slot === 'string') bump(this.byRequester, requester, -1);
        return slot;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** A slot for a requester whose share is already counted, or why the host or the total has none. */
  private takeReserved(requester: string, host: string): Slot | SlotRefusal {
    if ((this.byHost.get(host) ?? 0) >= this.limits.perHost) return 'host';
    if (this.inFlight >= this.limits.total) return 'total';
    this.inFlight++;
    bump(this.byHost, host, 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        bump(this.byRequester, requester, -1);
        bump(this.byHost, host, -1);
        for (const wake of [...this.waiters]) wake();
      },
    };
  }

  /** Fetches in flight now (for tests and logs). */
  get size(): number {
    return this.inFlight;
  }
}

/** Adds `by` to a count, dropping it at zero (the maps hold only what is in flight, so they stay small). */
function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}

/**
 * The key a requester's share is counted under: an IPv4 address as is, an IPv6 address by its /64 (one customer
 * routinely holds a whole /64, so fresh addresses from it must not buy fresh shares; @fastify/rate-limit does the
 * same), an IPv4-mapped IPv6 address as its IPv4 one. Unknown callers share one key.
 */
export function requesterKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped) return mapped;
  if (isIP(ip) !== 6) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
