// Loaded with `--import` into a server process by the benchmark only (bench/call-phases.ts), never by the service
// in production: it times where one proxied request spends its time, from outside the code under test, through
// node:http's own diagnostics channels and the two `end` methods every node:http server and client calls. The
// process must serve one request at a time (the benchmark's one-connection run); overlapping requests are not told
// apart.
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { ClientRequest, ServerResponse } from 'node:http';
import { median } from './median.js';

/** `host:port` of the upstream whose request is timed (the Google emulator); other client requests (S3) are not. */
const upstream = process.env.BENCH_PHASES_UPSTREAM ?? '';
/** Where the summary goes when the process gets SIGUSR2. */
const outFile = process.env.BENCH_PHASES_FILE ?? '';

interface Marks {
  in: number;
  sent?: number;
  answered?: number;
  replied?: number;
}

let current: Marks | undefined;
/** Per request, in ms: in -> upstream request sent, -> upstream answer complete, -> reply handed over, -> reply written. */
let rows: number[][] = [];

const isUpstream = (request: ClientRequest) => request.getHeader('host') === upstream;

subscribe('http.server.request.start', () => {
  current = { in: performance.now() };
});
const clientEnd = ClientRequest.prototype.end;
ClientRequest.prototype.end = function (this: ClientRequest, ...args: unknown[]) {
  if (current && current.sent === undefined && isUpstream(this)) current.sent = performance.now();
  return (clientEnd as (...a: unknown[]) => ClientRequest).apply(this, args);
} as typeof clientEnd;
subscribe('http.client.response.finish', (message) => {
  const { request } = message as { request: ClientRequest };
  if (current?.sent !== undefined && current.answered === undefined && isUpstream(request)) current.answered = performance.now();
});
const serverEnd = ServerResponse.prototype.end;
ServerResponse.prototype.end = function (this: ServerResponse, ...args: unknown[]) {
  if (current?.answered !== undefined && current.replied === undefined) current.replied = performance.now();
  return (serverEnd as (...a: unknown[]) => ServerResponse).apply(this, args);
} as typeof serverEnd;
subscribe('http.server.response.finish', () => {
  const m = current;
  current = undefined;
  if (m?.sent === undefined || m.answered === undefined || m.replied === undefined) return;
  rows.push([m.sent - m.in, m.answered - m.sent, m.replied - m.answered, performance.now() - m.replied]);
});

// Each SIGUSR2 writes the medians of the requests since the previous one and starts a new window.
process.on('SIGUSR2', () => {
  const done = rows;
  rows = [];
  const phases = [0, 1, 2, 3].map((i) => median(done.map((r) => r[i])));
  writeFileSync(outFile, JSON.stringify({ requests: done.length, phasesMs: phases }));
});
