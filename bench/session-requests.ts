import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import type { LoadFigures } from './load.js';

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One request with a bearer; resolves with the status (the body is read and dropped). */
export function callWithBearer(url: string, token: string, method: 'GET' | 'POST' = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs `fn` over `items`, `concurrency` at a time. */
export async function eachConcurrently<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** autocannon against `GET path` with each connection cycling through `tokens` (one bearer per request). */
export async function hammerTokens(baseUrl: string, path: string, tokens: readonly string[], connections: number, seconds: number): Promise<LoadFigures> {
  const r = await autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    requests: tokens.map((t) => ({ method: 'GET' as const, path, headers: { authorization: `Bearer ${t}` } })),
  });
  return { perSecond: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, requests: r.requests.total, failures: r.non2xx + r.errors + r.timeouts };
}

/** Closes the keep-alive sockets of callWithBearer. */
export function closeConnections(): void {
  agent.destroy();
}
