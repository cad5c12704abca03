import { connect } from 'node:net';
import { startSignedIn } from '../support/api-client.js';
import { JWT_SECRET, Service, stopAll, World } from '../support/harness.js';
import { createHmac } from 'node:crypto';

/** Almost the largest body the upload routes take (a 5 MB file, base64). */
const DECLARED_BYTES = 6_000_000;

/**
 * Sends the headers of a POST to `path` declaring a large body and only its first bytes, then waits: resolves with
 * what the service answered within `ms`, or '' when it is still waiting for the rest of the body.
 */
function answerBeforeBody(base: string, path: string, authorization: string | undefined, ms: number): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(Number(port), hostname, () => {
      const auth = authorization ? `Authorization: ${authorization}\r\n` : '';
      socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n${auth}Content-Length: ${DECLARED_BYTES}\r\n\r\n{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":"`);
    });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(done, ms);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      received += d;
      if (/\r\n\r\n\{.*\}$/s.test(received)) done(); // a whole JSON answer
    });
    socket.once('error', reject);
  });
}

/** A token signed with the service's key but for another issuer: its signature is fine, nothing else is. */
function foreignToken(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ iss: 'https://elsewhere.example', aud: 'workspace-api', sub: 'a@example.com', email: 'a@example.com', sid: 's', iat: now, exp: now + 600, jti: 'j' })}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

/**
 * POST /mcp and the Drive upload route take bodies up to ~6.7 MiB (a file upload, also through create_drive_file),
 * where other routes take 1 MiB. An anonymous caller must not get that: its request is refused before the body is
 * read, not after megabytes were received, checked as UTF-8 and parsed for nobody.
 */
describe.each([
  ['/mcp', '/mcp'],
  ['/v1/users/me/drive/files', '/v1/users/me/drive'],
])('POST %s checks the bearer before it reads the body', (path, resource) => {
  let world: World;
  let sut: Service;
  let token: string;

  beforeAll(async () => {
    ({ world, sut, token } = await startSignedIn('before-body@example.com'));
  });
  afterAll(() => stopAll(world, sut));

  it.each([
    ['no Authorization header', undefined, 'missing_token'],
    ['a token we never issued', 'Bearer not.a.token', 'invalid_token'],
    ['a token of another issuer', `Bearer ${foreignToken()}`, 'invalid_token'],
    ['a header that is not a bearer', 'Basic dXNlcjpwYXNz', 'invalid_token'],
  ])('%s: 401 with the challenge while the body is still on its way', async (_what, authorization, error) => {
    const answer = await answerBeforeBody(sut.url, path, authorization, 1500);
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain(`\r\nwww-authenticate: bearer resource_metadata="${sut.url}/.well-known/oauth-protected-resource${resource}"`);
    expect(answer).toContain(`"error":"${error}"`);
  });

  it('a valid bearer may still send its large body: the service waits for the rest of it', async () => {
    expect(await answerBeforeBody(sut.url, path, `Bearer ${token}`, 500)).toBe('');
  });
});
