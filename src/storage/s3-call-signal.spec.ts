import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallBoundHttpHandler, carryCallSignals, withCallSignal } from './s3-call-signal.js';

/**
 * The S3 client resolves its middleware once per command class (cacheMiddleware), so each call's deadline travels
 * on the command (withCallSignal) instead of send()'s options. Against a real HTTP server that never answers, with
 * the handler's own timeouts far away (30 s), only the call's signal can end the request.
 */
describe('S3 call deadlines under a cached middleware stack', () => {
  let server: Server;
  let client: S3Client;
  const arrived: IncomingMessage[] = [];
  const closedAt: number[] = [];

  beforeAll(async () => {
    server = createServer((req) => {
      arrived.push(req);
      req.resume();
      req.socket.on('close', () => closedAt.push(Date.now())); // never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = carryCallSignals(
      new S3Client({
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        cacheMiddleware: true,
        maxAttempts: 2,
        requestHandler: new CallBoundHttpHandler({ connectionTimeout: 30_000, requestTimeout: 30_000, socketTimeout: 30_000 }),
      }),
    );
  });
  afterAll(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['GetObject', () => new GetObjectCommand({ Bucket: 'b', Key: 'k.json' })],
    ['PutObject', () => new PutObjectCommand({ Bucket: 'b', Key: 'k.json', Body: '{}' })],
  ])('%s: the abort reaches the socket, and the server sees the connection close', async (_name, command) => {
    // Twice: the second call runs on the cached handler, with its own signal.
    for (let i = 0; i < 2; i++) {
      arrived.length = 0;
      closedAt.length = 0;
      const abort = new AbortController();
      const started = Date.now();
      const sent = client.send(withCallSignal(command(), abort.signal));
      while (arrived.length === 0) await new Promise((r) => setTimeout(r, 10));
      abort.abort(Object.assign(new Error('deadline'), { name: 'TimeoutError' }));
      await expect(sent).rejects.toThrow();
      while (closedAt.length === 0 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 10));
      expect(closedAt.length).toBeGreaterThan(0);
      expect(closedAt[0] - started).toBeLessThan(5000); // not the handler's 30 s timeouts
    }
  });

  it('refuses a call without its deadline before anything is sent', async () => {
    arrived.length = 0;
    await expect(client.send(new GetObjectCommand({ Bucket: 'b', Key: 'unbounded.json' }))).rejects.toThrow(/without its call deadline/);
    expect(arrived).toHaveLength(0);
  });
});
