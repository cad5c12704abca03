import { Agent, get, type IncomingHttpHeaders } from 'node:http';
import { answerHeaders } from '../../src/common/security-headers.js';
import { Service, startWorldWithService, stopAll, World } from '../support/harness.js';

/** One GET on a keep-alive connection of its own, with every response header as node:http sees it (fetch hides some). */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const agent = new Agent({ keepAlive: true });
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    get(url, { headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  }).finally(() => agent.destroy());
}

const requestLines = (sut: Service) =>
  sut.logs.lines.map((l) => l.message as Record<string, unknown>).filter((m) => m && m.msg === 'request' && String(m.path).startsWith('/health/live'));

describe('Liveness probe answered before the framework (issue 14, target 2)', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  it('gives the same answer as the Nest route: status, body, content type, security headers, keep-alive of Fastify', async () => {
    const probe = await rawGet(`${sut.url}/health/live`);
    const viaNest = await rawGet(`${sut.url}/health/live/`); // any other form of the URL is routed by Fastify to Nest
    expect(requestLines(sut).map((m) => m.path)).toEqual(['/health/live/']); // only the second went through the framework
    for (const res of [probe, viaNest]) {
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    }
    expect(probe.body).toBe(viaNest.body);
    for (const name of [...Object.keys(answerHeaders()), 'content-type', 'content-length', 'keep-alive']) {
      expect([name, probe.headers[name]]).toEqual([name, viaNest.headers[name]]);
    }
    expect(probe.headers['keep-alive']).toMatch(/timeout=72/); // Fastify's keep-alive (longer than load balancers' idle timeouts), not Node's 5 s
    expect(probe.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('echoes a caller\'s well-formed X-Request-Id, and makes one up otherwise', async () => {
    expect((await rawGet(`${sut.url}/health/live`, { 'x-request-id': 'probe-7.a:b' })).headers['x-request-id']).toBe('probe-7.a:b');
    const made = (await rawGet(`${sut.url}/health/live`, { 'x-request-id': 'bad id\twith tab' })).headers['x-request-id'];
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes no request log line and no HTTP metrics sample for probes; other methods still get the usual answers', async () => {
    const scrape = async () => (await fetch(sut.metricsUrl)).text();
    const count = (text: string) => text.split('\n').filter((l) => l.startsWith('broker_http_request_duration_seconds_count') && l.includes('route="/health/live"')).map((l) => Number(l.slice(l.lastIndexOf(' ') + 1))).reduce((a, b) => a + b, 0);
    const before = count(await scrape());
    const logged = requestLines(sut).length;
    for (let i = 0; i < 20; i++) expect((await rawGet(`${sut.url}/health/live`)).status).toBe(200);
    expect(count(await scrape())).toBe(before);
    expect(requestLines(sut)).toHaveLength(logged);

    const head = await fetch(`${sut.url}/health/live`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const wrong = await fetch(`${sut.url}/health/live`, { method: 'POST' });
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toMatchObject({ statusCode: 405, error: 'method_not_allowed' });
  });
});
