import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { Service, startService, startWorld, World } from '../support/harness.js';
import { selfSigned } from '../support/self-signed.js';

const REDIRECT = 'http://127.0.0.1:8767/callback';
/** Three document hosts: loopback addresses, each with its own https server (one certificate names all three). */
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'] as const;

/**
 * Anyone can name any URL as a client_id, so the document fetch is a fetcher on the open internet working for
 * strangers. A document server that trickles its answer, or never answers, must not hold the service's sockets past
 * the fetch's 5 s; only a few fetches run at once, shared fairly: one requester address and one document host hold
 * one slot each (the rest are refused at once with Retry-After; a URL already being fetched shares that fetch), so
 * an attacker naming slow documents cannot turn everybody else's clients away. A kept copy whose refetch cannot
 * start is served meanwhile. Requesters are told apart by X-Forwarded-For from a trusted proxy (TRUST_PROXY).
 */
describe('Client ID Metadata Documents from hostile servers', () => {
  let world: World;
  let sut: Service;
  const docs: Server[] = [];
  const base: Record<string, string> = {};
  /** Sockets the document servers have open right now (the service's fetches). */
  const open = new Set<Socket>();
  /** Every request the document servers got, as `host:port/path`. */
  const requests: string[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    requests.push(`${req.headers.host}${url}`);
    if (url.startsWith('/trickle/')) {
      // A valid start, then one byte every 300 ms: never silent for long, never done within 5 s.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"client_id":');
      const timer = setInterval(() => res.write(' '), 300);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (url.startsWith('/good/')) {
      const clientId = `https://${req.headers.host}${url}`;
      const headers = { 'content-type': 'application/json', ...(url.includes('short') ? { 'cache-control': 'max-age=1' } : {}) };
      res.writeHead(200, headers).end(JSON.stringify({ client_id: clientId, client_name: 'Good App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }));
      return;
    }
    if (url.startsWith('/slow404/')) {
      // A junk URL on someone else's host: not found, after a second.
      const timer = setTimeout(() => res.writeHead(404).end(), 1000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    // /stall/...: accepted, never answered.
  };

  beforeAll(async () => {
    const tls = selfSigned([...HOSTS]);
    for (const host of HOSTS) {
      const server = createServer(tls, handle);
      server.on('secureConnection', (socket: Socket) => {
        open.add(socket);
        socket.on('close', () => open.delete(socket));
      });
      await new Promise<void>((r) => server.listen(0, host, r));
      docs.push(server);
      base[host] = `https://${host}:${(server.address() as AddressInfo).port}`;
    }
    world = await startWorld();
    sut = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, OAUTH_CIMD_ALLOW_PRIVATE_HOSTS: 'true', OAUTH_CIMD_EXTRA_CA: tls.cert, RATE_LIMIT_AUTHORIZE: '1000/60', TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await sut?.close();
    await world?.close();
    for (const s of open) s.destroy();
    for (const server of docs) await new Promise((r) => server.close(r));
  });

  /** GET /oauth/authorize for `clientId`, from `ip` (as our trusted proxy reports it), or from 127.0.0.1 itself. */
  const authorize = (clientId: string, ip?: string) =>
    fetch(`${sut.url}/oauth/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`, {
      redirect: 'manual',
      headers: ip ? { 'x-forwarded-for': ip } : {},
    });
  const until = async (what: () => boolean, ms: number) => {
    for (const end = Date.now() + ms; !what() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Counts answers with `status` as they come in (`note` passes each answer on). */
  const counting = (status: number) => {
    let n = 0;
    return {
      note: (r: Response) => {
        if (r.status === status) n++;
        return r;
      },
      count: () => n,
    };
  };
  /** Waits until no fetch is open any more (the stalled ones end at the 5 s limit). */
  const settled = async () => {
    await until(() => open.size === 0, 7000);
    expect(open.size).toBe(0);
  };

  it('a document that trickles in is given up after 5 s in all: the client is refused and the connection closed', async () => {
    const started = Date.now();
    const res = await authorize(`${base['127.0.0.1']}/trickle/app.json`);
    const took = Date.now() - started;
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('temporarily_unavailable');
    expect(took).toBeGreaterThanOrEqual(4500);
    expect(took).toBeLessThan(8000); // the socket's idle timeout alone would have waited for the last byte: hours
    await settled();
    expect(sut.logs.text).toMatch(/cimd_refused.*took longer than 5000 ms|took longer than 5000 ms.*cimd_refused/);
  });

  it('one address naming many slow URLs gets one fetch; the others are refused at once with 429 and Retry-After', async () => {
    const before = requests.length;
    const refusals = counting(429);
    const slow = Array.from({ length: 6 }, (_, i) => authorize(`${base['127.0.0.1']}/stall/app-${i}.json`, '198.51.100.10').then(refusals.note));
    // Once five are refused (a refused request starts no fetch) and one fetch has arrived, no other can come.
    await until(() => requests.length - before >= 1 && refusals.count() === 5, 3000);
    expect(requests.length - before).toBe(1);
    const answers = await Promise.all(slow);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused).toHaveLength(5);
    for (const r of refused) {
      expect(r.headers.get('retry-after')).toBe('5');
      expect(await r.json()).toMatchObject({ statusCode: 429, error: 'temporarily_unavailable', message: expect.stringMatching(/from your address.*Retry in a few seconds/) });
    }
    expect(answers.filter((r) => r.status === 400)).toHaveLength(1); // the one fetched, given up at 5 s
    await settled();
  });

  it('an address flooding slow documents on its own host does not keep anyone else from connecting', async () => {
    const before = requests.length;
    // The attack the review found: about 24 slow-document requests a minute from one address.
    const refusals = counting(429);
    const attack = Array.from({ length: 24 }, (_, i) => authorize(`${base['127.0.0.1']}/stall/flood-${i}.json`, '198.51.100.66').then(refusals.note));
    // The legitimate client comes once the flood is all in: one fetch stalling at the document server, 23 turned away.
    await until(() => requests.length - before >= 1 && refusals.count() === 23, 3000);
    const legit = await authorize(`${base['127.0.0.2']}/good/claude.json`, '203.0.113.5');
    expect(legit.status).toBe(200); // the consent page: fetched while the attacker's fetch stalls
    expect(await legit.text()).toContain('Good App');
    const answers = await Promise.all(attack);
    expect(answers.filter((r) => r.status === 429)).toHaveLength(23);
    await settled();
  });

  it('many addresses naming slow documents on one host hold one fetch between them: other hosts are still fetched', async () => {
    const before = requests.length;
    const attack = Array.from({ length: 6 }, (_, i) => authorize(`${base['127.0.0.1']}/stall/many-${i}.json`, `198.51.100.${100 + i}`));
    await until(() => requests.length - before >= 1, 3000);
    // The one fixed wait left here: the legitimate client should come while the other five wait for the host's slot
    // (each up to 2 s, SLOTS.waitMs), and nothing outside the service shows that they have begun to (a waiter answers
    // nothing and fetches nothing until it gives up). They were sent with the one whose fetch has arrived, and each
    // needs one read of S3 (no kept copy) and its share checks to start waiting; 300 ms is a margin of several times
    // that on a loaded machine, and 2 s of waiting lie beyond it. Too short a wait cannot hide a fetch: that is
    // counted once every answer is in.
    await pause(300);
    const legit = await authorize(`${base['127.0.0.2']}/good/other.json`, '203.0.113.6');
    expect(legit.status).toBe(200);
    const answers = await Promise.all(attack);
    // Every attack request has its answer: none can start a fetch any more.
    expect(requests.slice(before).filter((r) => r.includes('/stall/many-'))).toHaveLength(1);
    const busy = answers.filter((r) => r.status === 503);
    expect(busy).toHaveLength(5);
    for (const r of busy) {
      expect(r.headers.get('retry-after')).toBe('5');
      expect(await r.json()).toMatchObject({ statusCode: 503, error: 'temporarily_unavailable', message: expect.stringMatching(/one is fetched at a time per host\. Retry in a few seconds/) });
    }
    await settled();
  });

  it("junk URLs on someone else's host hold its slot only briefly: that host's real document waits for it and is fetched", async () => {
    const before = requests.length;
    const junk = authorize(`${base['127.0.0.2']}/slow404/junk.json`, '198.51.100.150');
    await until(() => requests.length - before >= 1, 3000);
    const started = Date.now();
    const legit = await authorize(`${base['127.0.0.2']}/good/victim.json`, '203.0.113.9');
    expect(legit.status).toBe(200); // refused at once with 503 before, while the junk fetch held the host's slot
    expect(Date.now() - started).toBeLessThan(2500);
    expect((await junk).status).toBe(400);
  });

  it('a kept copy that expired is served while its refetch cannot start, and refetched once it can', async () => {
    const clientId = `${base['127.0.0.2']}/good/short-lived.json`;
    expect((await authorize(clientId, '203.0.113.7')).status).toBe(200);
    await pause(1100); // max-age=1: expired
    // Every slot busy: three addresses, three hosts, the document's own host among them.
    const before = requests.length;
    const attack = HOSTS.map((host, i) => authorize(`${base[host]}/stall/busy-${i}.json`, `198.51.100.${200 + i}`));
    await until(() => requests.length - before >= 3, 3000);
    const meanwhile = await authorize(clientId, '203.0.113.7');
    expect(meanwhile.status).toBe(200);
    expect(await meanwhile.text()).toContain('Good App');
    expect(requests.slice(before).filter((r) => r.endsWith('/good/short-lived.json'))).toEqual([]); // not refetched
    expect(sut.logs.text).toContain('cimd_stale_served');
    // A document that was never fetched has no copy to serve: it waits its turn.
    const fresh = await authorize(`${base['127.0.0.3']}/good/never-seen.json`, '203.0.113.8');
    expect(fresh.status).toBe(503);
    expect(fresh.headers.get('retry-after')).toBe('5');
    await Promise.all(attack);
    await settled();
    expect((await authorize(clientId, '203.0.113.7')).status).toBe(200);
    expect(requests.filter((r) => r.endsWith('/good/short-lived.json'))).toHaveLength(2); // refetched now
  });

  it('the same URL asked for many times at once is fetched once, and the next URL is served once those end', async () => {
    const before = requests.length;
    const same = await Promise.all(Array.from({ length: 5 }, () => authorize(`${base['127.0.0.1']}/stall/shared.json`)));
    expect(same.map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
    expect(requests.slice(before).map((r) => new URL(`https://${r}`).pathname)).toEqual(['/stall/shared.json']);
    expect((await authorize(`${base['127.0.0.1']}/stall/after.json`)).status).toBe(400); // fetched again: no slot was leaked
    expect(requests.at(-1)).toMatch(/\/stall\/after\.json$/);
  });
});
