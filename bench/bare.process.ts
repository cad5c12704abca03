// The benchmark's baselines, in their own process (one core's worth, like the service): the HTTP floor, the same
// with the service's header block, and the least work a bearer check needs. Written with node:http on purpose:
// they measure what no framework adds.
import { JwtService } from '@nestjs/jwt';
import { createSecretKey, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { securityHeaders } from '../src/common/security-headers.js';

/** Ports of the two baseline servers. */
export interface BarePorts {
  hello: number;
  bearer: number;
  headers: number;
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
  const serviceHeaders = { ...securityHeaders(), vary: 'Origin', 'content-type': 'application/json; charset=utf-8' };
  const headers = createServer((_req, res) => {
    res.writeHead(200, { ...serviceHeaders, 'x-request-id': randomUUID() });
    res.end('{"ok":true}');
  });
  // Verifies the same HS256 token the service issues (signature, issuer, audience, expiry) on every request and
  // looks its session up: what GET /auth/session cannot do without.
  const bearer = createServer((req, res) => {
    const header = req.headers.authorization ?? '';
    let body: string | undefined;
    if (header.startsWith('Bearer ')) {
      try {
        const claims = jwt.verify<{ sid: string; sub: string; exp: number; iat: number }>(header.slice(7), { algorithms: ['HS256'], secret, issuer, audience });
        const session = sessions.get(claims.sid);
        if (session && session.email === claims.sub) {
          body = JSON.stringify({ email: claims.sub, session_id: claims.sid, issued_at: new Date(claims.iat * 1000).toISOString(), expires_at: new Date(claims.exp * 1000).toISOString() });
        }
      } catch {
        body = undefined;
      }
    }
    res.writeHead(body ? 200 : 401, { 'content-type': 'application/json' });
    res.end(body ?? '{"statusCode":401}');
  });
  const ports: BarePorts = { hello: await listen(hello), bearer: await listen(bearer), headers: await listen(headers) };
  process.send?.({ ready: ports });
  process.on('message', () => {
    for (const server of [hello, bearer, headers]) {
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
