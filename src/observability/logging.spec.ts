import { Writable } from 'node:stream';
import { createPinoLogger, lazyRequestLogger, PinoNestLogger } from './logging.js';

/** The service's loggers writing into an array of parsed lines. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, ...createPinoLogger({ level: 'info', destination: destination as never }) };
}

describe('Fastify\'s per-request logger', () => {
  it('builds no pino child until something logs through it', () => {
    const { logger } = capture();
    let children = 0;
    const child = logger.child.bind(logger);
    logger.child = ((...args: Parameters<typeof child>) => (children++, child(...args))) as typeof logger.child;
    for (let i = 0; i < 100; i++) lazyRequestLogger(logger, { reqId: `r${i}` }, {});
    expect(children).toBe(0);
    lazyRequestLogger(logger, { reqId: 'used' }, {}).info('now it is needed');
    expect(children).toBe(1);
  });

  it('logs through the real child: the request id bound, secrets redacted, levels respected', async () => {
    const { logger, lines } = capture();
    const log = lazyRequestLogger(logger, { reqId: 'req-1' }, {});
    log.warn({ authorization: 'Bearer secret-value', err: { message: 'client went away' } }, 'stream closed prematurely');
    log.debug('not at info level');
    log.info('second line, same child');
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, reqId: 'req-1', authorization: '[redacted]', msg: 'stream closed prematurely' }),
      expect.objectContaining({ level: 30, reqId: 'req-1', msg: 'second line, same child' }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-value');
    expect(log.level).toBe('info');
  });
});

describe('Nest\'s log lines', () => {
  it('the route and module lines Nest prints at boot are debug, the other lines keep their level', async () => {
    const { logger, lines } = capture();
    const nest = new PinoNestLogger(logger);
    nest.log('Mapped {/auth/session, GET} route', 'RouterExplorer');
    nest.log('AuthController {/auth}:', 'RoutesResolver');
    nest.log('AuthModule dependencies initialized', 'InstanceLoader');
    nest.log('Nest application successfully started', 'NestApplication');
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual([expect.objectContaining({ level: 30, context: 'NestApplication', msg: 'Nest application successfully started' })]);
  });
});
