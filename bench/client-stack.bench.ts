import { gmail } from '@googleapis/gmail';
import { fetch as nodeHttpFetch } from '@whatwg-node/node-fetch';
import { Gaxios } from 'gaxios';
import { OAuth2Client } from 'google-auth-library';
import { Agent, request } from 'node:http';
import nodeFetch from 'node-fetch';
import { GoogleDeadlines, googleFetch } from '../src/credentials/google-transport.js';
import { pooledFetch } from '../src/credentials/pooled-fetch.js';
import { GOOGLE_POOL_OPTIONS } from '../src/workspace/google-apis.js';
import { ServiceProcess, WorldProcess } from './processes.js';

/** One layer of the Google client stack: calls per second and this process's CPU per call, 32 calls in flight. */
export interface StackLayer {
  layer: string;
  perSecond: number;
  cpuMicrosPerCall: number;
}

const IN_FLIGHT = 32;

/**
 * What each layer of the Google client stack costs per call, against the Google emulator in its own process, in
 * this process (the caller's CPU only): bare node:http with a keep-alive agent, the fetch implementations, gaxios on
 * each, and the googleapis Gmail client as gaxios' default builds it and as the service configures it. Rounds
 * interleave the layers; the best round of each is kept. This is the floor under target 3 of issue 14: the service
 * keeps the googleapis clients, so a warm call costs at least their last line.
 */
export async function clientStackBench(seconds: number, rounds: number, logFile: string): Promise<StackLayer[]> {
  const world = await WorldProcess.start();
  try {
    const service = await ServiceProcess.start(world.info, { logFile });
    const user = await world.signIn(service.url, 'stack@example.com').finally(() => service.stop());
    const rootUrl = world.info.google.urls.apiRoot;
    const url = `${rootUrl}gmail/v1/users/me/messages?maxResults=5`;
    const headers = { authorization: `Bearer ${user.googleToken}` };
    const agent = new Agent(GOOGLE_POOL_OPTIONS);
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: user.googleToken, expiry_date: Date.now() + 3_600_000 });
    const client = (options: object) => gmail({ version: 'v1', auth, rootUrl, retry: false, agent, ...options });
    const gaxiosDefault = new Gaxios({ agent });
    const gaxiosService = new Gaxios({ agent, fetchImplementation: googleFetch });
    const googleapisDefault = client({ timeout: 10_000 });
    const deadlines = new GoogleDeadlines(10_000);
    // As src/workspace/google-apis.ts builds it: the pool carries the deadline.
    const pooled = new GoogleDeadlines(10_000, { secure: false, options: GOOGLE_POOL_OPTIONS });
    const googleapisSignal = client({ fetchImplementation: deadlines.fetch() });
    const googleapisService = client({ agent: pooled.agent, fetchImplementation: pooled.fetch() });
    // The same without google-auth-library: no auth client, the bearer as a per-call header (what the auth layer costs).
    const googleapisNoAuth = gmail({ version: 'v1', rootUrl, retry: false, agent: pooled.agent, fetchImplementation: pooled.fetch() });
    const googleapisNoDeadline = client({ fetchImplementation: googleFetch });
    // The service's transport before pooledFetch: what the hand-written layer saves under the same client.
    const googleapisWhatwg = client({ fetchImplementation: (u: string, i: object) => nodeHttpFetch(u, { ...i, redirect: 'manual' } as never) });
    const layers: Array<[string, () => Promise<unknown>]> = [
      ['node:http request, keep-alive agent, JSON.parse', () => rawGet(url, headers, agent)],
      ['node-fetch (gaxios default transport)', async () => (await nodeFetch(url, { agent, headers })).json()],
      ['pooledFetch (the service transport on the pool)', async () => (await pooledFetch(url, { agent, headers }, 48 * 1024 * 1024)).json()],
      ['@whatwg-node/node-fetch (the transport off the pool)', async () => (await nodeHttpFetch(url, { agent, headers } as never)).json()],
      ['@whatwg-node/node-fetch with the shared deadline signal', async () => (await nodeHttpFetch(url, { agent, headers, signal: deadlines.signal() } as never)).json()],
      ['gaxios on node-fetch, timeout', async () => (await gaxiosDefault.request({ url, headers, timeout: 10_000, retry: false })).data],
      ['gaxios on googleFetch', async () => (await gaxiosService.request({ url, headers, retry: false })).data],
      ['googleapis Gmail list, default transport and timeout', async () => (await googleapisDefault.users.messages.list({ userId: 'me', maxResults: 5 })).data],
      ['googleapis Gmail list, googleFetch (pooledFetch) without a deadline', async () => (await googleapisNoDeadline.users.messages.list({ userId: 'me', maxResults: 5 })).data],
      ['googleapis Gmail list, @whatwg-node/node-fetch without a deadline', async () => (await googleapisWhatwg.users.messages.list({ userId: 'me', maxResults: 5 })).data],
      ['googleapis Gmail list, the deadline as a shared signal per call', async () => (await googleapisSignal.users.messages.list({ userId: 'me', maxResults: 5 })).data],
      ['googleapis Gmail list, as the service configures it (the deadline on the pool)', async () => (await googleapisService.users.messages.list({ userId: 'me', maxResults: 5 })).data],
      ['the same, the bearer as a per-call header instead of google-auth-library', async () => (await googleapisNoAuth.users.messages.list({ userId: 'me', maxResults: 5 }, { headers })).data],
    ];
    const best = new Map<string, StackLayer>();
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? [...layers].reverse() : layers;
      for (const [layer, call] of order) {
        const figures = await measure(layer, call, seconds);
        const known = best.get(layer);
        if (!known || figures.cpuMicrosPerCall < known.cpuMicrosPerCall) best.set(layer, figures);
      }
    }
    agent.destroy();
    pooled.agent?.destroy();
    return layers.map(([layer]) => best.get(layer) as StackLayer);
  } finally {
    await world.stop();
  }
}

function rawGet(url: string, headers: Record<string, string>, agent: Agent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function measure(layer: string, call: () => Promise<unknown>, seconds: number): Promise<StackLayer> {
  for (let i = 0; i < 300; i++) await call(); // JIT and connections
  const cpu = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  let calls = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) {
        await call();
        calls++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { layer, perSecond: (calls * 1000) / (performance.now() - started), cpuMicrosPerCall: (used.user + used.system) / calls };
}

/** The layers as a Markdown table, with the run's context line. */
export function clientStackMarkdown(layers: StackLayer[], context: string): string {
  const raw = layers[0].cpuMicrosPerCall;
  return [
    context,
    `${IN_FLIGHT} calls in flight, GET gmail/v1/users/me/messages?maxResults=5 against the Google emulator in its own process; CPU of the calling process only; best of the rounds.`,
    '',
    '| layer | calls/s | µs CPU per call | × node:http |',
    '|---|---|---|---|',
    ...layers.map((l) => `| ${l.layer} | ${Math.round(l.perSecond).toLocaleString('en-US')} | ${l.cpuMicrosPerCall.toFixed(0)} | ${(l.cpuMicrosPerCall / raw).toFixed(1)} |`),
  ].join('\n');
}
