import { Agent, request } from 'node:http';

/** An answer read whole. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Round-trip time seen by the caller, ms (from before the request is written to the answer's last byte). */
  ms: number;
  /** When the request was started and the answer ended, epoch ms with sub-ms resolution (comparable across processes). */
  startedAt: number;
  endedAt: number;
}

/**
 * One HTTP/1.1 request with node:http on the given agent (a keep-alive agent keeps the connection set-up out of the
 * timing). Plain node:http rather than fetch: its own overhead per request is smaller and steadier.
 */
export function send(agent: Agent, url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const t = performance.now();
    const req = request(url, { agent, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const end = performance.now();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: end - t,
          startedAt: performance.timeOrigin + t,
          endedAt: performance.timeOrigin + end,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The q-quantile (0..1) of some numbers, nearest rank. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
