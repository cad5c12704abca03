// The benchmark's baselines, in their own process (one core's worth, like the service): the HTTP floor, the same
// with the service's header block, the least work a bearer check needs, and the least work a warm Workspace call
// needs. Written with node:http on purpose: they measure what no framework and no client library adds.
import { JwtService } from '@nestjs/jwt';
import { createSecretKey, randomUUID } from 'node:crypto';
import { Agent, createServer, request, type Server } from 'node:http';
import { answerHeaders } from '../src/common/security-headers.js';

/** Ports of the baseline servers. */
export interface BarePorts {
  hello: number;
  bearer: number;
  headers: number;
  proxy: number;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

async function main(): Promise<void> {
  // A KeyObject, as the service uses: given a string, jsonwebtoken first tries it as a PEM key (about 1 ms wasted).
  const secret = createSecretKey(Buffer.from(process.env.JWT_SECRET as string)) as unknown as string;
  const issuer = process.env.JWT_ISSUER as string;
  const audience = process.env.JWT_AUDIENCE as string;
  // The live sessions, as the service holds them in memory: id -> owner.
  const sessions = new Map<string, { email: string }>(JSON.parse(process.env.BENCH_SESSIONS ?? '[]') as Array<[string, { email: string }]>);
  const jwt = new JwtService({});

  const hello = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  // The hello answer with every header the service's answers carry (helmet's security headers, Vary, a request id,
  // JSON with charset): what the header block alone costs node:http, with no framework.
  const serviceHeaders = { ...answerHeaders(), vary: 'Origin', 'content-type': 'application/json; charset=utf-8' };
  const headers = createServer((_req, res) => {
    res.writeHead(200, { ...serviceHeaders, 'x-request-id': randomUUID() });
    res.end('{"ok":true}');
  });
  // Verifies the same HS256 token the service issues (signature, issuer, audience, expiry) and looks its session up:
  // what GET /auth/session cannot do without. The claims of a valid bearer whose session is live, else undefined.
  const verifiedClaims = (header = '') => {
    if (!header.startsWith('Bearer ')) return undefined;
    try {
      const claims = jwt.verify<{ sid: string; sub: string; exp: number; iat: number }>(header.slice(7), { algorithms: ['HS256'], secret, issuer, audience });
      const session = sessions.get(claims.sid);
      return session && session.email === claims.sub ? claims : undefined;
    } catch {
      return undefined;
    }
  };
  const bearer = createServer((req, res) => {
    const claims = verifiedClaims(req.headers.authorization);
    const body = claims && JSON.stringify({ email: claims.sub, session_id: claims.sid, issued_at: new Date(claims.iat * 1000).toISOString(), expires_at: new Date(claims.exp * 1000).toISOString() });
    res.writeHead(body ? 200 : 401, { 'content-type': 'application/json' });
    res.end(body ?? '{"statusCode":401}');
  });
  // A warm Workspace call with nothing between the two exchanges: the bearer checked as above, then the Gmail list
  // fetched from the emulator on a keep-alive agent with the user's Google token, its JSON parsed and sent on. The
  // floor of target 3 on this machine: no framework, no googleapis client, no metrics, no log line.
  const upstream = process.env.BENCH_PROXY_UPSTREAM ?? '';
  const upstreamHeaders = { authorization: `Bearer ${process.env.BENCH_PROXY_GOOGLE_TOKEN ?? ''}`, accept: 'application/json' };
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const proxy = createServer((req, res) => {
    const claims = verifiedClaims(req.headers.authorization);
    if (!claims) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"statusCode":401}');
      return;
    }
    const fail = () => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"statusCode":502}');
    };
    const upstreamCall = request(upstream, { agent, headers: upstreamHeaders }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        let body: string;
        try {
          body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          return fail();
        }
        res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
        res.end(body);
      });
    });
    upstreamCall.on('error', fail);
    upstreamCall.end();
  });
  const ports: BarePorts = { hello: await listen(hello), bearer: await listen(bearer), headers: await listen(headers), proxy: await listen(proxy) };
  process.send?.({ ready: ports });
  process.on('message', () => {
    agent.destroy();
    for (const server of [hello, bearer, headers, proxy]) {
      server.close();
      server.closeAllConnections();
    }
    process.exit(0);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
