// scratch: compare googleapis client transport settings against the emulator in another process
import { fork } from 'node:child_process';
import { gmail } from '@googleapis/gmail';
import { OAuth2Client } from 'google-auth-library';
import { Agent } from 'node:http';
const child = fork('.local-build/bench/world.process.js', [], { execArgv: ['--openssl-legacy-provider'], stdio: ['ignore','ignore','inherit','ipc'] });
const info = await new Promise((r) => child.on('message', (m) => m.ready && r(m.ready)));
// get a token from the emulator: use test client-credentials? just use any token: emulator rejects unknown -> 401; so measure with 401? use /health-like path instead
const root = info.google.urls.apiRoot;
const variants = {
  'node-fetch default': {},
  'node-fetch keepalive agent': { agent: new Agent({ keepAlive: true, maxSockets: 64 }) },
  'native fetch': { fetchImplementation: fetch },
};
async function run(name, opts, n, conc) {
  const auth = new OAuth2Client({ clientId: 'x' }); auth.setCredentials({ access_token: 'nope' });
  const c = gmail({ version: 'v1', auth, rootUrl: root, retry: false, timeout: 2000, ...opts });
  let next = 0; const t = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => { while (next++ < n) { try { await c.users.messages.list({ userId: 'me', maxResults: 5 }); } catch (e) { if (e.status !== 401) throw e; } } }));
  const ms = performance.now() - t; console.log(name.padEnd(30), conc, (n / ms * 1000).toFixed(0), 'req/s', (ms / n * conc).toFixed(3), 'ms/req');
}
for (const round of [0, 1]) for (const [name, o] of Object.entries(variants)) { await run(name, o, 3000, 32); await run(name, o, 1000, 1); }
child.send({ id: 1, op: 'stop' });
