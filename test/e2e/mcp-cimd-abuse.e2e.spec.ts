import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { Service, startService, startWorld, World } from '../support/harness.js';
import { selfSigned } from '../support/self-signed.js';

const REDIRECT = 'http://127.0.0.1:8767/callback';

/**
 * Anyone can name any URL as a client_id, so the document fetch is a fetcher on the open internet working for
 * strangers. A document server that trickles its answer, or never answers, must not hold the service's sockets past
 * the fetch's 5 s, and however many such URLs arrive, only a few fetches run at once (the rest are refused with 503
 * and Retry-After, and a URL already being fetched shares that fetch).
 */
describe('Client ID Metadata Documents from hostile servers', () => {
  let world: World;
  let sut: Service;
  let docs: Server;
  let docBase: string;
  /** Sockets the document server has open right now (the service's fetches). */
  const open = new Set<Socket>();
  const requests: string[] = [];

  beforeAll(async () => {
    const tls = selfSigned();
    docs = createServer(tls, (req, res) => {
      requests.push(req.url ?? '');
      const url = req.url ?? '';
      if (url.startsWith('/trickle/')) {
        // A valid start, then one byte every 300 ms: never silent for long, never done within 5 s.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"client_id":');
        const timer = setInterval(() => res.write(' '), 300);
        res.on('close', () => clearInterval(timer));
        return;
      }
      // /stall/...: accepted, never answered.
    });
    docs.on('secureConnection', (socket: Socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    await new Promise<void>((r) => docs.listen(0, '127.0.0.1', r));
    docBase = `https://127.0.0.1:${(docs.address() as AddressInfo).port}`;
    world = await startWorld();
    sut = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, OAUTH_CIMD_ALLOW_PRIVATE_HOSTS: 'true', OAUTH_CIMD_EXTRA_CA: tls.cert, RATE_LIMIT_AUTHORIZE: '1000/60' });
  });
  afterAll(async () => {
    await sut?.close();
    await world?.close();
    for (const s of open) s.destroy();
    await new Promise((r) => docs?.close(r));
  });

  const authorize = (clientId: string) =>
    fetch(`${sut.url}/oauth/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`, { redirect: 'manual' });
  const until = async (what: () => boolean, ms: number) => {
    for (const end = Date.now() + ms; !what() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  };

  it('a document that trickles in is given up after 5 s in all: the client is refused and the connection closed', async () => {
    const started = Date.now();
    const res = await authorize(`${docBase}/trickle/app.json`);
    const took = Date.now() - started;
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('temporarily_unavailable');
    expect(took).toBeGreaterThanOrEqual(4500);
    expect(took).toBeLessThan(8000); // the socket's idle timeout alone would have waited for the last byte: hours
    await until(() => open.size === 0, 2000);
    expect(open.size).toBe(0);
    expect(sut.logs.text).toMatch(/cimd_refused.*took longer than 5000 ms|took longer than 5000 ms.*cimd_refused/);
  });

  it('many slow URLs at once: two fetches run, the others are refused at once with 503 and Retry-After', async () => {
    const before = requests.length;
    const slow = Array.from({ length: 6 }, (_, i) => authorize(`${docBase}/stall/app-${i}.json`));
    await until(() => requests.length - before >= 2, 3000);
    await new Promise((r) => setTimeout(r, 300)); // time for any fetch beyond the cap to arrive
    expect(requests.length - before).toBe(2);
    const answers = await Promise.all(slow);
    const busy = answers.filter((r) => r.status === 503);
    expect(busy).toHaveLength(4);
    for (const r of busy) {
      expect(r.headers.get('retry-after')).toBe('5');
      expect(await r.json()).toMatchObject({ error: 'temporarily_unavailable', message: expect.stringMatching(/Retry in a few seconds/) });
    }
    expect(answers.filter((r) => r.status === 400)).toHaveLength(2); // the two fetched, given up at 5 s
    await until(() => open.size === 0, 2000);
    expect(open.size).toBe(0);
  });

  it('the same URL asked for many times at once is fetched once, and the next URL is served once those end', async () => {
    const before = requests.length;
    const same = await Promise.all(Array.from({ length: 5 }, () => authorize(`${docBase}/stall/shared.json`)));
    expect(same.map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
    expect(requests.slice(before)).toEqual(['/stall/shared.json']);
    expect((await authorize(`${docBase}/stall/after.json`)).status).toBe(400); // fetched again: no slot was leaked
    expect(requests.at(-1)).toBe('/stall/after.json');
  });
});
