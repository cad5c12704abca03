import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** One request a world server served: when its headers were parsed and when its answer was handed to the socket. */
export interface ServedRequest {
  /** `google` or `s3` (by the listening port), `other` for anything else in the world process. */
  server: string;
  method: string;
  path: string;
  /** Epoch milliseconds with sub-millisecond resolution (performance.timeOrigin + performance.now()), comparable across processes. */
  start: number;
  end: number;
}

const now = () => performance.timeOrigin + performance.now();

/**
 * Times every request the world's HTTP servers serve, through Node's own `http.server.*` diagnostics channels
 * (no change to the emulators): the own-time benchmark subtracts these from the service's total to get the time
 * it spent waiting on Google and S3. `ports` names the servers by their listening port. Off until setOn(true).
 */
export function recordServedRequests(ports: () => Record<number, string>): { setOn(on: boolean): void; take(): ServedRequest[] } {
  const started = new WeakMap<ServerResponse, number>();
  let served: ServedRequest[] = [];
  const onStart = (m: unknown) => void started.set((m as { response: ServerResponse }).response, now());
  const onFinish = (m: unknown) => {
    const { request, response, server } = m as { request: IncomingMessage; response: ServerResponse; server: Server };
    const start = started.get(response);
    if (start === undefined) return;
    const port = (server.address() as { port?: number } | null)?.port ?? 0;
    served.push({ server: ports()[port] ?? 'other', method: request.method ?? '', path: (request.url ?? '').split('?')[0], start, end: now() });
  };
  let on = false;
  return {
    // Off by default: a subscriber costs every request a little, and the throughput baselines must not pay it.
    setOn(want) {
      if (want === on) return;
      on = want;
      served = [];
      if (on) {
        subscribe('http.server.request.start', onStart);
        subscribe('http.server.response.finish', onFinish);
      } else {
        unsubscribe('http.server.request.start', onStart);
        unsubscribe('http.server.response.finish', onFinish);
      }
    },
    take() {
      const all = served;
      served = [];
      return all;
    },
  };
}
