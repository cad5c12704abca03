import type { FastifyReply, FastifyRequest } from 'fastify';
import { EventEmitter } from 'node:events';
import { Metrics } from './metrics.js';
import { RequestAccounting } from './request-accounting.js';
import { RequestLog } from './request-log.js';

/** The parts of node:http's answer and socket the accounting reads, settable by the test. */
class FakeAnswer extends EventEmitter {
  writableFinished = false;
  headersSent = false;
  statusCode = 200;
  socket: { bytesWritten: number; remoteAddress: string; readableEnded: boolean; errored: Error | null } | null = {
    bytesWritten: 1000,
    remoteAddress: '10.0.0.9',
    readableEnded: false,
    errored: null,
  };
}

function setUp() {
  const written: string[] = [];
  const metrics = new Metrics();
  const accounting = new RequestAccounting(new RequestLog({ write: (s: string) => void written.push(s) }, () => true), metrics);
  const res = new FakeAnswer();
  const request = { id: 'r-1', method: 'GET', url: '/v1/users/me/gmail/messages?q=salary', ip: '10.0.0.9', routeOptions: { url: '/v1/users/:userId/gmail/messages' } } as unknown as FastifyRequest;
  const reply = { raw: res, request, statusCode: 200, elapsedTime: 12.34 } as unknown as FastifyReply;
  const lines = () => written.map((l) => JSON.parse(l) as Record<string, unknown>);
  const samples = async () => (await metrics.httpDuration.get()).values.filter((v) => v.metricName === 'broker_http_request_duration_seconds_count' && v.value > 0).map((v) => ({ ...v.labels, count: v.value }));
  return { accounting, res, request, reply, lines, samples };
}

describe('RequestAccounting: one line and one sample per request, whichever of finish and close comes first', () => {
  it('an answer that finished: onResponse counts it as completed, its close after adds nothing', async () => {
    const { accounting, res, request, reply, lines, samples } = setUp();
    accounting.watch(reply);
    res.writableFinished = true;
    res.headersSent = true;
    accounting.answered(request, reply);
    res.emit('close');
    expect(lines()).toEqual([expect.objectContaining({ reqId: 'r-1', status: 200, ms: 12.3, ip: '10.0.0.9', path: '/v1/users/me/gmail/messages?q=%5Bredacted%5D' })]);
    expect(lines()[0]).not.toHaveProperty('outcome');
    expect(await samples()).toEqual([{ method: 'GET', route: '/v1/users/:userId/gmail/messages', status: '200', outcome: 'completed', count: 1 }]);
  });

  it('a close with the answer finished is left to onResponse, even when onResponse comes later (an async hook before it)', async () => {
    const { accounting, res, request, reply, lines, samples } = setUp();
    accounting.watch(reply);
    res.writableFinished = true;
    res.emit('close');
    expect(lines()).toEqual([]);
    accounting.answered(request, reply);
    expect(lines()).toHaveLength(1);
    expect(await samples()).toEqual([expect.objectContaining({ outcome: 'completed', count: 1 })]);
  });

  it('a close before any header went out: client_closed without a status; a finish after it (an answer sent into the closed connection) adds nothing', async () => {
    const { accounting, res, request, reply, lines, samples } = setUp();
    accounting.watch(reply);
    res.socket = { ...res.socket!, readableEnded: true };
    res.emit('close');
    accounting.answered(request, reply);
    expect(lines()).toEqual([expect.objectContaining({ reqId: 'r-1', outcome: 'client_closed', bytes: 0, ip: '10.0.0.9' })]);
    expect(lines()[0]).not.toHaveProperty('status');
    expect(await samples()).toEqual([{ method: 'GET', route: '/v1/users/:userId/gmail/messages', status: 'none', outcome: 'client_closed', count: 1 }]);
  });

  it('tells who closed: the caller (its end read, or a reset, or writes into its closed connection) or the service (the socket destroyed here)', () => {
    const outcomeOf = (socket: Partial<NonNullable<FakeAnswer['socket']>>) => {
      const { accounting, res, reply, lines } = setUp();
      accounting.watch(reply);
      res.headersSent = true;
      res.socket = { ...res.socket!, ...socket };
      res.emit('close');
      return lines()[0];
    };
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const pipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    expect(outcomeOf({ readableEnded: true })).toMatchObject({ outcome: 'client_closed', status: 200 });
    expect(outcomeOf({ errored: reset })).toMatchObject({ outcome: 'client_closed' });
    expect(outcomeOf({ errored: pipe })).toMatchObject({ outcome: 'client_closed' });
    expect(outcomeOf({})).toMatchObject({ outcome: 'cut', status: 200 });
    expect(outcomeOf({ errored: new Error('a deadline of ours') })).toMatchObject({ outcome: 'cut' });
    // HTTP_REQUEST_TIMEOUT_MS: Fastify writes its 408 straight to the connection, then destroys it with the timeout.
    const timedOut = Object.assign(new Error('request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    expect(outcomeOf({ errored: timedOut })).toMatchObject({ outcome: 'cut', status: 200 }); // a head already sent stays
    const { accounting, res, reply, lines } = setUp();
    accounting.watch(reply);
    res.socket = { ...res.socket!, errored: timedOut };
    res.emit('close');
    expect(lines()[0]).toMatchObject({ outcome: 'cut', status: 408 });
    // What this answer handed to the kernel: the connection's count less what it had written before this request.
    expect(outcomeOf({ bytesWritten: 1000 + 65_536 })).toMatchObject({ bytes: 65_536 });
  });

  it('a request never watched (answered by an onRequest hook before the watch) is still counted once by onResponse', async () => {
    const { accounting, request, reply, lines, samples } = setUp();
    accounting.answered(request, reply);
    expect(lines()).toHaveLength(1);
    expect(await samples()).toEqual([expect.objectContaining({ outcome: 'completed', count: 1 })]);
  });
});
