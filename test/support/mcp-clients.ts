import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** Options of the official clients that the specs vary. */
export interface McpClientOptions {
  /** A fetch of one's own (e.g. to alternate replicas). */
  fetch?: typeof fetch;
  /** `{ pin: '2026-07-28' }` for the modern era; default is the 2025 `initialize` handshake. */
  negotiation?: 'legacy' | 'auto' | { pin: string };
}

/** The official v2 client (`@modelcontextprotocol/client`), connected to `url` with a bearer token. */
export async function connectV2(url: string, token: string, opts: McpClientOptions = {}): Promise<Client> {
  const client = new Client({ name: 'spec-client-v2', version: '1.0.0' }, { versionNegotiation: { mode: opts.negotiation ?? 'legacy' } });
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: { token: async () => token }, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  await client.connect(transport);
  return client;
}

/** The official v1 client (`@modelcontextprotocol/sdk`), connected to `url` with a bearer token. */
export async function connectV1(url: string, token: string, opts: McpClientOptions = {}): Promise<V1Client> {
  const client = new V1Client({ name: 'spec-client-v1', version: '1.0.0' });
  const transport = new V1Transport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } }, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  await client.connect(transport);
  return client;
}

/** A raw JSON-RPC POST to /mcp, as a client of `protocolVersion` sends it. */
export async function rawMcp(url: string, token: string | undefined, body: unknown, protocolVersion?: string, signal?: AbortSignal): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    signal,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(protocolVersion ? { 'mcp-protocol-version': protocolVersion } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const data = text.startsWith('event:') || text.startsWith('data:') ? text.split('\n').find((l) => l.startsWith('data:'))?.slice(5) : text;
  return { status: res.status, headers: res.headers, json: data ? JSON.parse(data) : undefined };
}
