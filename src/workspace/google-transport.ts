import { fetch as nodeHttpFetch } from '@whatwg-node/node-fetch';

const CONSUMERS = ['text', 'json', 'arrayBuffer', 'blob', 'formData'] as const;

/**
 * The fetch under the googleapis clients (gaxios' `fetchImplementation`): @whatwg-node/node-fetch, a fetch on
 * node:http, instead of gaxios' default node-fetch. Same agent, AbortSignal and streams, and about 110 µs less CPU
 * per call: node-fetch wraps every answer in stream.pipeline with its own AbortController (npm run bench measured
 * 200 against 80 µs per request on the same keep-alive agent; Node's own fetch, undici, 250 µs).
 *
 * One correction, made here: its responses never set `bodyUsed`, and gaxios keeps an error answer's parsed body
 * only when `bodyUsed` is true; without it Google's error reason (insufficientPermissions, rateLimitExceeded) would
 * be lost and every 403 would read as a plain `forbidden` (test/e2e/workspace-google-errors.e2e.spec.ts).
 */
export async function googleFetch(url: string | URL | Request, init?: RequestInit): Promise<Response> {
  // gaxios passes the URL as a string and its options as init.
  const res = (await nodeHttpFetch(url as string, init as never)) as unknown as Record<string, unknown>;
  for (const name of CONSUMERS) {
    const consume = res[name] as (() => Promise<unknown>) | undefined;
    if (typeof consume !== 'function') continue;
    res[name] = () => {
      res.bodyUsed = true;
      return consume.call(res);
    };
  }
  return res as unknown as Response;
}
