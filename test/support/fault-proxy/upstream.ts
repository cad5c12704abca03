import { Agent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { LateRequest } from './holds.js';
import type { ProxiedRequest } from './request-log.js';

/** How forward() treats the upstream's answer (none of these: relayed as it comes). */
export interface ForwardOptions {
  /** Read the answer whole (the server applied the request), then cut the client off. */
  dropAnswer?: boolean;
  /** Relay a JSON answer transformed. */
  reshape?: (json: unknown) => unknown;
  /** Read the answer whole and relay it that much later, or once `until` resolves (calling `onRead` once it was read). */
  holdAnswer?: { ms?: number; until?: Promise<void>; onRead?: () => void };
  /** Called as the answer arrives: true when it takes the client's response over (the black hole), the answer then dropped. */
  swallow?: (res: ServerResponse) => boolean;
}

/** The proxied target: requests go there on keep-alive connections, under its path, with the client's Host header. */
export class Upstream {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly target: URL;

  constructor(targetBaseUrl: string) {
    this.target = new URL(targetBaseUrl);
  }

  /** Maps a URL of the target (e.g. the emulator's token URL) to the same URL under `proxyUrl`. */
  rewrite(targetUrl: string, proxyUrl: string): string {
    const u = new URL(targetUrl);
    if (u.origin !== this.target.origin) throw new Error(`${targetUrl} is not on the proxied target ${this.target.origin}`);
    const base = this.target.pathname.replace(/\/$/, '');
    const rest = u.pathname.startsWith(base) ? u.pathname.slice(base.length) : u.pathname;
    return `${proxyUrl}${rest}${u.search}`;
  }

  /**
   * Sends the request upstream; relays the answer, or (dropAnswer) reads it whole and then cuts the client off, or
   * (reshape) relays a JSON answer transformed, or (holdAnswer) reads it whole and relays it later.
   */
  forward(req: IncomingMessage, res: ServerResponse, entry: ProxiedRequest, how: ForwardOptions = {}): void {
    if (res.destroyed || req.socket.destroyed) return;
    const headers = withoutHopByHop(req.headers);
    if (how.reshape) delete headers['accept-encoding']; // the answer is rewritten: it has to arrive readable
    const upstream = this.request(req.method ?? 'GET', req.url ?? '/', headers);
    entry.forwarded = true;
    // The client gave up: close the upstream request too, as a TCP proxy would pass the FIN/RST on.
    const onClientGone = () => {
      if (!res.writableFinished) upstream.destroy();
    };
    res.on('close', onClientGone);
    upstream.on('error', () => res.socket?.destroy());
    upstream.on('response', (upRes) => {
      if (how.dropAnswer) {
        upRes.resume();
        upRes.on('end', () => {
          res.off('close', onClientGone);
          res.socket?.destroy();
        });
        return;
      }
      if (how.swallow?.(res)) return void upRes.resume();
      const out = withoutHopByHop(upRes.headers);
      if (how.holdAnswer) return relayLater(upRes, res, out, how.holdAnswer, () => (entry.status = upRes.statusCode));
      entry.status = upRes.statusCode;
      if (how.reshape && /json/.test(String(upRes.headers['content-type']))) return relayReshaped(upRes, res, out, how.reshape);
      res.writeHead(upRes.statusCode ?? 502, out);
      upRes.pipe(res);
    });
    req.pipe(upstream);
  }

  /** Sends a held request upstream on a connection of its own, reads the answer whole and relays it if the client still waits. */
  forwardLate(late: LateRequest): Promise<{ status: number; body: string }> {
    const headers = withoutHopByHop(late.headers);
    delete headers.expect; // the body goes at once: nothing to wait for a 100 Continue for
    return new Promise((resolve, reject) => {
      const upstream = this.request(late.method, late.url, headers);
      late.entry.forwarded = true;
      upstream.on('error', reject);
      upstream.on('response', (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('error', reject);
        upRes.on('end', () => {
          const status = upRes.statusCode ?? 502;
          const body = Buffer.concat(chunks);
          if (!late.res.destroyed && !late.res.writableEnded) {
            late.entry.status = status;
            late.res.writeHead(status, withoutHopByHop(upRes.headers)).end(body);
          }
          resolve({ status, body: body.toString('utf8') });
        });
      });
      upstream.end(late.body);
    });
  }

  /** Closes the connections to the target. */
  destroy(): void {
    this.agent.destroy();
  }

  private request(method: string, url: string, headers: OutgoingHttpHeaders) {
    return httpRequest({
      protocol: this.target.protocol,
      hostname: this.target.hostname,
      port: this.target.port,
      method,
      path: `${this.target.pathname.replace(/\/$/, '')}${url}`,
      headers,
      agent: this.agent,
    });
  }
}

/** The headers without those of one connection (each side of the proxy has its own). */
function withoutHopByHop<T extends Record<string, unknown>>(headers: T): T {
  const out = { ...headers };
  delete out.connection;
  delete out['keep-alive'];
  return out;
}

/** Reads a JSON answer whole and relays what `reshape` makes of it (unparseable JSON is relayed as it came). */
function relayReshaped(upRes: IncomingMessage, res: ServerResponse, headers: Record<string, unknown>, reshape: (json: unknown) => unknown): void {
  const chunks: Buffer[] = [];
  upRes.on('data', (c: Buffer) => chunks.push(c));
  upRes.on('end', () => {
    let body = Buffer.concat(chunks).toString('utf8');
    try {
      body = JSON.stringify(reshape(JSON.parse(body)));
    } catch {
      // not JSON after all: relayed unchanged
    }
    const out: Record<string, unknown> = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    delete out['transfer-encoding'];
    res.writeHead(upRes.statusCode ?? 502, out as Record<string, string>).end(body);
  });
}

/**
 * Reads an answer whole, then relays it `ms` later or once `until` resolves (calling `sent` as it goes); nothing if
 * the client left meanwhile.
 */
function relayLater(upRes: IncomingMessage, res: ServerResponse, headers: Record<string, unknown>, hold: NonNullable<ForwardOptions['holdAnswer']>, sent: () => void): void {
  const chunks: Buffer[] = [];
  upRes.on('data', (c: Buffer) => chunks.push(c));
  upRes.on('end', () => {
    hold.onRead?.();
    const relay = () => {
      if (res.destroyed) return;
      sent();
      res.writeHead(upRes.statusCode ?? 502, headers as Record<string, string>).end(Buffer.concat(chunks));
    };
    if (hold.until) return void hold.until.then(relay);
    const timer = setTimeout(relay, hold.ms ?? 1000);
    res.on('close', () => clearTimeout(timer));
  });
}
