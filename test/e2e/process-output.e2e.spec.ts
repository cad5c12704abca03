import { join } from 'node:path';
import { getWithBearer, signIn, startWorld, World } from '../support/harness.js';
import { buildForReplicas, startReplica } from '../support/replica.js';

const PRELOAD = join(import.meta.dirname, '../support/late-warning.preload.mjs');

/**
 * The built service as production runs it writes one JSON object per line, Node's own warnings included: a log
 * pipeline that parses JSON lines would drop or choke on Node's plain-text "(node:1) [DEP0169] DeprecationWarning".
 * `--pending-deprecation` makes Node 20 emit what Node 24 (the image's) emits at every start: DEP0169, url.parse()
 * in passport-oauth2.
 */
describe('what the built service writes', () => {
  let world: World;
  let main: string;

  beforeAll(async () => {
    main = buildForReplicas();
    world = await startWorld();
  }, 120_000);
  afterAll(async () => {
    await world?.close();
  });

  async function run(logLevel: string): Promise<Array<Record<string, unknown>>> {
    const replica = await startReplica(main, world, { LOG_LEVEL: logLevel }, ['--pending-deprecation', '--import', PRELOAD]);
    try {
      const { access_token } = await signIn(replica, world, `warnings-${logLevel}@example.com`);
      expect((await getWithBearer(replica, '/v1/users/me/gmail/messages', access_token)).status).toBe(200);
      // Stopped once the preload's warning was written (as a JSON line or, wrongly, as Node's plain text), not 2 s
      // after the call: a replica a busy machine had slowed had not written it yet, and the checks below had no
      // warning to look at.
      for (const deadline = Date.now() + 10_000; !replica.rawOutput().includes('TEST_UNREVIEWED'); await new Promise((r) => setTimeout(r, 20))) {
        if (Date.now() > deadline) throw new Error("the preload's warning was not written within 10 s");
      }
    } finally {
      await replica.stop();
    }
    const text = replica.logs.join('\n');
    const lines = replica.rawOutput().split('\n').filter((l) => l.trim() !== '');
    const notJson = lines.filter((l) => {
      try {
        return typeof JSON.parse(l) !== 'object';
      } catch {
        return true;
      }
    });
    expect({ notJson, plainWarning: /\(node:\d+\)|DeprecationWarning:|--trace-deprecation/.test(text.replace(/"[^"\n]*"/g, '')) }).toEqual({ notJson: [], plainWarning: false });
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('the PKCE verifier passport-oauth2 makes comes from the CSPRNG: crypto.pseudoRandomBytes is crypto.randomBytes', async () => {
    const { default: crypto } = await import('node:crypto');
    // The same function object (under --pending-deprecation, util.deprecate's wrapper around it).
    const alias = (crypto as unknown as { pseudoRandomBytes: unknown }).pseudoRandomBytes;
    expect(alias).toBe(crypto.randomBytes);
  });

  it('at debug: the reviewed url.parse() deprecation is a debug line saying why it is harmless, an unreviewed warning a warn line', async () => {
    const lines = await run('debug');
    const warnings = lines.filter((l) => l.event === 'process_warning');
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 20, context: 'Process', code: 'DEP0169', name: 'DeprecationWarning', reviewed: expect.stringContaining('passport-oauth2') }),
        // The sign-in's PKCE verifier: pseudoRandomBytes is randomBytes under another name (checked, not assumed).
        expect.objectContaining({ level: 20, context: 'Process', code: 'DEP0115', reviewed: expect.stringContaining('CSPRNG') }),
        expect.objectContaining({ level: 40, context: 'Process', code: 'TEST_UNREVIEWED', name: 'TestWarning', detail: 'a library did something Node warns about' }),
      ]),
    );
  }, 60_000);

  it('at info (the default): the reviewed one writes nothing, the unreviewed one still does', async () => {
    const warnings = (await run('info')).filter((l) => l.event === 'process_warning');
    const codes = warnings.map((w) => w.code);
    expect(codes).toContain('TEST_UNREVIEWED');
    expect(codes).not.toContain('DEP0169');
    expect(codes).not.toContain('DEP0115');
  }, 60_000);
});
