import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Agent, createServer, request, type Server } from 'node:http';
import { startS3Server, type S3Server } from '../../emulators/s3/s3-server.js';
import { FaultProxy, type ProxiedRequest } from './fault-proxy.js';

/** An upstream that records what it applied, so a test can tell "never reached" from "applied, answer lost". */
async function startUpstream(): Promise<{ url: string; applied: string[]; close(): Promise<void> }> {
  const applied: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      applied.push(`${req.method} ${req.url}${body ? ` ${body}` : ''}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, path: req.url }));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    applied,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** One request over a keep-alive agent; resolves with the status or the error code. */
function call(agent: Agent, url: string, method = 'GET', body?: string, timeoutMs = 5000): Promise<{ status?: number; error?: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request(url, { method, agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Date.now() - started }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - started }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - started }));
    req.end(body);
  });
}

describe('FaultProxy', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let proxy: FaultProxy;
  let agent: Agent;

  beforeAll(async () => {
    upstream = await startUpstream();
    proxy = await FaultProxy.start(upstream.url);
  });
  beforeEach(() => {
    proxy.clear();
    upstream.applied.length = 0;
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
  });
  afterEach(() => agent.destroy());
  afterAll(async () => {
    await proxy.stop();
    await upstream.close();
  });

  it('forwards requests unchanged over one keep-alive connection and logs them', async () => {
    expect((await call(agent, `${proxy.url}/a?x=1`)).status).toBe(200);
    expect((await call(agent, `${proxy.url}/b`, 'PUT', 'body')).status).toBe(200);
    expect(upstream.applied).toEqual(['GET /a?x=1', 'PUT /b body']);
    expect(proxy.requests.slice(-2).map((r) => [r.method, r.path, r.fault, r.status])).toEqual([
      ['GET', '/a', undefined, 200],
      ['PUT', '/b', undefined, 200],
    ]);
  });

  it('latency delays forwarding by ms', async () => {
    proxy.inject({ path: '/slow', fault: 'latency', ms: 400 });
    const slow = await call(agent, `${proxy.url}/slow`);
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(380);
  });

  it('stall accepts the request and never answers until clear()', async () => {
    proxy.inject({ path: '/hang', fault: 'stall' });
    const pending = call(agent, `${proxy.url}/hang`, 'GET', undefined, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(upstream.applied).toEqual([]);
    proxy.clear();
    expect((await pending).error).toBe('ECONNRESET');
    expect(proxy.seen('GET', '/hang')[0].fault).toBe('stall');
  });

  it('a client giving up on a stalled request is recorded (the socket closed)', async () => {
    proxy.inject({ path: '/hang', fault: 'stall' });
    const res = await call(agent, `${proxy.url}/hang`, 'GET', undefined, 300);
    expect(res.error).toBe('TIMEOUT');
    await new Promise((r) => setTimeout(r, 100));
    const seen = proxy.seen('GET', '/hang').at(-1) as ProxiedRequest; // this test's request, not the stall test's before it
    expect(seen.clientClosedAt).toBeDefined();
    expect((seen.clientClosedAt as number) - seen.at).toBeGreaterThanOrEqual(250);
  });

  it('reset destroys the client socket without forwarding; the next request on a new socket works', async () => {
    proxy.inject({ method: 'PUT', path: '/x', fault: 'reset' });
    expect((await call(agent, `${proxy.url}/x`, 'PUT', 'v')).error).toBe('ECONNRESET');
    expect(upstream.applied).toEqual([]);
    expect((await call(agent, `${proxy.url}/x`, 'PUT', 'v')).status).toBe(200);
    expect(upstream.applied).toEqual(['PUT /x v']);
  });

  it('drop-answer lets the upstream apply the request, then cuts the client off', async () => {
    proxy.inject({ method: 'DELETE', path: /^\/obj\//, fault: 'drop-answer' });
    expect((await call(agent, `${proxy.url}/obj/1`, 'DELETE')).error).toBe('ECONNRESET');
    expect(upstream.applied).toEqual(['DELETE /obj/1']);
    const seen = proxy.seen('DELETE', '/obj/1')[0];
    expect(seen).toMatchObject({ fault: 'drop-answer', forwarded: true });
  });

  it('slow-answer lets the upstream answer at once and relays that answer only `ms` later', async () => {
    proxy.inject({ method: 'GET', path: '/answer-later', fault: 'slow-answer', ms: 400 });
    const pending = call(agent, `${proxy.url}/answer-later`);
    await new Promise((r) => setTimeout(r, 150));
    expect(upstream.applied).toEqual(['GET /answer-later']); // the upstream already answered...
    expect(proxy.seen('GET', '/answer-later')[0]).toMatchObject({ fault: 'slow-answer', forwarded: true });
    expect(proxy.seen('GET', '/answer-later')[0].status).toBeUndefined(); // ...the client has nothing yet
    const answered = await pending;
    expect(answered.status).toBe(200);
    expect(answered.ms).toBeGreaterThanOrEqual(400);
    expect(proxy.seen('GET', '/answer-later')[0].status).toBe(200);
  });

  it('holdAnswerNext lets the upstream answer at once and relays that answer only on release(); clear() resets one still kept', async () => {
    const held = proxy.holdAnswerNext({ method: 'GET', path: '/answer-when-told' });
    const pending = call(agent, `${proxy.url}/answer-when-told`, 'GET', undefined, 10_000);
    const request = await held.answered;
    expect(upstream.applied).toEqual(['GET /answer-when-told']); // the upstream answered...
    expect(request).toMatchObject({ fault: 'slow-answer', forwarded: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(request.status).toBeUndefined(); // ...the client has nothing, however long it waits
    held.release();
    const answered = await pending;
    expect(answered.status).toBe(200);
    expect(answered.ms).toBeGreaterThanOrEqual(300);
    expect(request.status).toBe(200);

    const dropped = proxy.holdAnswerNext({ path: '/never-told' });
    const lost = call(agent, `${proxy.url}/never-told`);
    await dropped.answered;
    proxy.clear();
    expect((await lost).error).toBe('ECONNRESET');
    dropped.release(); // too late: nothing is sent
    expect(proxy.seen('GET', '/never-told')[0].status).toBeUndefined();
    expect((await call(agent, `${proxy.url}/never-told`)).status).toBe(200); // one request only
  });

  it('holdNext keeps a request unforwarded; release() forwards it even after its client gave up, and gives the upstream answer', async () => {
    const held = proxy.holdNext({ method: 'PUT', path: '/late' });
    expect((await call(agent, `${proxy.url}/late`, 'PUT', 'v1', 300)).error).toBe('TIMEOUT');
    const { request, body } = await held.arrived;
    expect(body.toString()).toBe('v1');
    while (request.clientClosedAt === undefined) await new Promise((r) => setTimeout(r, 10));
    expect(request).toMatchObject({ fault: 'hold', forwarded: false });
    expect(upstream.applied).toEqual([]);
    expect((await held.release()).status).toBe(200);
    expect(upstream.applied).toEqual(['PUT /late v1']);
    expect(request.forwarded).toBe(true);
    await expect(held.release()).rejects.toThrow(/released or dropped/); // it went once
    expect((await call(agent, `${proxy.url}/late`, 'PUT', 'v2')).status).toBe(200); // one request only
    expect(upstream.applied).toEqual(['PUT /late v1', 'PUT /late v2']);
  });

  it('a held request whose client still waits is answered on release(); clear() drops what is still held, unforwarded', async () => {
    const held = proxy.holdNext({ path: '/wait' });
    const pending = call(agent, `${proxy.url}/wait`, 'POST', 'b');
    await held.arrived;
    await new Promise((r) => setTimeout(r, 100));
    expect(upstream.applied).toEqual([]);
    await held.release();
    expect((await pending).status).toBe(200);
    expect(proxy.seen('POST', '/wait')[0].status).toBe(200);

    const dropped = proxy.holdNext({ path: '/dropped' });
    const lost = call(agent, `${proxy.url}/dropped`, 'PUT', 'x');
    await dropped.arrived;
    proxy.clear();
    expect((await lost).error).toBe('ECONNRESET');
    await expect(dropped.release()).rejects.toThrow();
    expect(upstream.applied).toEqual(['POST /wait b']);
    expect(() => proxy.inject({ fault: 'hold' })).toThrow(/holdNext/);
  });

  it('answer with everyMs sends its body once every everyMs, without forwarding, until the client closes', async () => {
    proxy.inject({ method: 'GET', path: '/trickle', fault: 'answer', body: 'ab', repeat: Infinity, everyMs: 50 });
    const chunks: number[] = [];
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const req = request(`${proxy.url}/trickle`, { agent }, (res) => {
        res.on('data', () => chunks.push(Date.now() - started) >= 4 && req.destroy());
        res.on('close', () => resolve());
      });
      req.on('error', () => undefined);
      req.end();
    });
    expect(chunks).toHaveLength(4);
    expect(chunks[3]).toBeGreaterThanOrEqual(190); // not all at once
    expect(upstream.applied).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    const seen = proxy.seen('GET', '/trickle')[0];
    expect(seen).toMatchObject({ fault: 'answer', status: 200, clientClosedAt: expect.any(Number) });
    expect(seen.bodyBytesSent).toBeLessThan(16); // it stopped sending when the client closed
  });

  it('matches method and path, and applies a rule only `times` times', async () => {
    const handle = proxy.inject({ method: 'GET', path: '/only', fault: 'reset', times: 2 });
    expect((await call(agent, `${proxy.url}/other`)).status).toBe(200);
    expect((await call(agent, `${proxy.url}/only`, 'PUT')).status).toBe(200);
    expect((await call(agent, `${proxy.url}/only`)).error).toBe('ECONNRESET');
    expect((await call(agent, `${proxy.url}/only/sub`)).error).toBe('ECONNRESET');
    expect((await call(agent, `${proxy.url}/only`)).status).toBe(200);
    expect(handle.hits).toBe(2);
  });

  it('times: Infinity keeps applying until remove()', async () => {
    const handle = proxy.inject({ path: '/r', fault: 'reset', times: Infinity });
    for (let i = 0; i < 3; i++) expect((await call(agent, `${proxy.url}/r`)).error).toBe('ECONNRESET');
    handle.remove();
    expect((await call(agent, `${proxy.url}/r`)).status).toBe(200);
  });

  it('blackhole(true) answers nothing, on existing and new connections, until blackhole(false)', async () => {
    expect((await call(agent, `${proxy.url}/warm`)).status).toBe(200); // an existing keep-alive connection
    proxy.blackhole(true);
    const onExisting = call(agent, `${proxy.url}/a`, 'GET', undefined, 60_000);
    const onNew = call(new Agent(), `${proxy.url}/b`, 'GET', undefined, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(upstream.applied).toEqual(['GET /warm']);
    proxy.blackhole(false);
    expect((await onExisting).error).toBe('ECONNRESET');
    expect((await onNew).error).toBe('ECONNRESET');
    expect((await call(agent, `${proxy.url}/after`)).status).toBe(200);
  });

  it('an injected blackhole fault starts a black hole at the matching request', async () => {
    proxy.inject({ path: '/trigger', fault: 'blackhole' });
    expect((await call(agent, `${proxy.url}/before`)).status).toBe(200);
    const trig = call(agent, `${proxy.url}/trigger`, 'GET', undefined, 400);
    const later = call(new Agent(), `${proxy.url}/later`, 'GET', undefined, 400);
    expect((await trig).error).toBe('TIMEOUT');
    expect((await later).error).toBe('TIMEOUT');
    expect(upstream.applied).toEqual(['GET /before']);
  });

  it('random mode injects faults at roughly the given rate; a random stall ends by a reset after stallMs', async () => {
    proxy.randomFaults({ rate: 0.5, faults: ['reset', 'stall'], stallMs: 100 });
    const results = [];
    for (let i = 0; i < 40; i++) results.push(await call(new Agent(), `${proxy.url}/soak/${i}`, 'GET', undefined, 5000));
    const failed = results.filter((r) => r.error);
    expect(failed.length).toBeGreaterThan(5);
    expect(failed.length).toBeLessThan(35);
    expect(failed.every((r) => r.error === 'ECONNRESET' && r.ms < 4000)).toBe(true);
    expect(results.filter((r) => r.status === 200).length).toBe(40 - failed.length);
  });
});

describe('FaultProxy in front of the test S3 server (SigV4, SDK keep-alive)', () => {
  let s3: S3Server;
  let proxy: FaultProxy;
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['proxied'] });
    proxy = await FaultProxy.start(s3.endpoint);
    client = new S3Client({
      region: s3.region,
      endpoint: proxy.url,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    await proxy.stop();
    await s3.close();
  });

  it('signed requests pass; a dropped PUT answer fails the call but the object is stored', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'proxied', Key: 'k1', Body: 'one' }));
    proxy.inject({ method: 'PUT', path: '/proxied/k2', fault: 'drop-answer' });
    await expect(client.send(new PutObjectCommand({ Bucket: 'proxied', Key: 'k2', Body: 'two' }))).rejects.toThrow();
    const got = await client.send(new GetObjectCommand({ Bucket: 'proxied', Key: 'k2' }));
    expect(await got.Body?.transformToString()).toBe('two');
  });

  it('a signed conditional PUT held past its deadline and released after another write meets S3\'s 412, not the newer object', async () => {
    await client.send(new PutObjectCommand({ Bucket: 'proxied', Key: 'k3', Body: 'first' }));
    const read = await client.send(new GetObjectCommand({ Bucket: 'proxied', Key: 'k3' }));
    await read.Body?.transformToString();
    const held = proxy.holdNext({ method: 'PUT', path: '/proxied/k3' });
    const stale = new PutObjectCommand({ Bucket: 'proxied', Key: 'k3', Body: 'stale', IfMatch: read.ETag });
    await expect(client.send(stale, { abortSignal: AbortSignal.timeout(300) })).rejects.toThrow();
    await held.arrived;
    await client.send(new PutObjectCommand({ Bucket: 'proxied', Key: 'k3', Body: 'newer' }));
    expect((await held.release()).status).toBe(412);
    const got = await client.send(new GetObjectCommand({ Bucket: 'proxied', Key: 'k3' }));
    expect(await got.Body?.transformToString()).toBe('newer');
  });

  it('rewrite() maps a target URL onto the proxy', () => {
    expect(proxy.rewrite(`${s3.endpoint}/proxied/k?x=1`)).toBe(`${proxy.url}/proxied/k?x=1`);
  });
});
