import autocannon from 'autocannon';
import { Agent, request } from 'node:http';

export { median } from './median.js';

/** One autocannon run against one target. */
export interface LoadFigures {
  /** Mean requests per second over the run. */
  perSecond: number;
  /** Latency percentiles in ms (autocannon's resolution is 1 ms). */
  p50: number;
  p99: number;
  requests: number;
  /** Answers other than 2xx plus connection errors and timeouts: any makes the figure invalid. */
  failures: number;
  /**
   * CPU the answering process used per request during the run (µs, every thread; black-box runs on Linux only):
   * what throughput comes down to on one core, and where the service's cost is, beside what req/s says.
   */
  cpuMicrosPerRequest?: number;
}

/** `connections` keep-alive connections hammering `url` for `seconds` (autocannon, in this process). */
export async function hammer(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadFigures> {
  const r = await autocannon({ url, headers, connections, duration: seconds });
  return {
    perSecond: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    failures: r.non2xx + r.errors + r.timeouts,
  };
}

/** One connection, one request at a time: sub-millisecond latency percentiles (autocannon rounds to 1 ms). */
export async function sequential(url: string, headers: Record<string, string>, seconds: number): Promise<{ p50: number; p90: number; requests: number; failures: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let failures = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const t = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url, { agent, headers }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    latencies.push(performance.now() - t);
    if (status !== 200) failures++;
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { p50: at(0.5), p90: at(0.9), requests: latencies.length, failures };
}
