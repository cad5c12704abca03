import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import { corsPolicy } from './common/cors.js';
import { answerHeaders } from './common/security-headers.js';
import { SendTimeout } from './common/send-timeout.js';
import { Logger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module.js';
import { registerRateLimits } from './common/rate-limits.js';
import { frameworkErrorAnswer, registerHttpConventions } from './common/http-conventions.js';
import { utf8JsonParser } from './common/json-body.js';
import { LogController } from 'fastify';
import { Lifecycle, ShuttingDownError } from './health/lifecycle.js';
import { LivenessProbe } from './health/liveness-probe.js';
import { requestIdOf } from './common/request-id.js';
import { parseConfig } from './config/config.schema.js';
import { logProcessWarnings } from './observability/process-warnings.js';
import { createPinoLogger, lazyRequestLogger, PinoNestLogger } from './observability/logging.js';
import { Metrics } from './observability/metrics.js';
import { RequestAccounting } from './observability/request-accounting.js';
import { MetricsListener } from './observability/metrics-listener.js';
import { setUpOpenApi } from './openapi.js';
import { REGISTRATION_LIMITS } from './oauth/client-registration.service.js';
import { DRIVE_UPLOAD_ROUTE } from './workspace/drive/drive.controller.js';
import { UPLOAD_BODY_LIMIT } from './workspace/drive/drive.schemas.js';
import { MAX_PATH_PARAM_LENGTH } from './workspace/ids.js';
import { BearerAuthGuard } from './sessions/bearer-auth.guard.js';

export interface CreateAppOptions {
  /** The environment to configure from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Replaces the Nest logger (tests capture it). */
  logger?: LoggerService;
  /** Where pino writes (default stdout, JSON lines; the local run's is readable, prettyLogDestination). */
  logDestination?: DestinationStream;
  /** Node's own warnings go to this app's log (process-warnings.ts): for the process's one app, not for tests. */
  processWarnings?: boolean;
}

/** Builds the service on Fastify (chosen for throughput on the bearer-validated hot path). Not yet listening. */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const env = options.env ?? process.env;
  const config = parseConfig(env); // fails fast, naming the variable, before anything starts
  const { logger: pino, requests: requestLog } = createPinoLogger({ level: config.logLevel, destination: options.logDestination });
  if (options.processWarnings) logProcessWarnings(pino.child({ context: 'Process' }));
  // The one log line and metric sample per request (request-accounting.ts); made once the metrics exist, before the
  // first request (the bad URLs Fastify answers before any hook are accounted through it too).
  let accounting!: RequestAccounting;
  // The security headers are the same on every answer: computed by helmet once, set in one call per request.
  const headers = answerHeaders();
  const liveness = new LivenessProbe(headers);
  const adapter = new FastifyAdapter({
    serverFactory: liveness.serverFactory as never,
    loggerInstance: pino,
    // One line per request, written below with the route and a clean path (logController: the non-deprecated way).
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLogger as never,
    // `/v1/users/me/drive/files/` is the same route; ids longer than Fastify's default 100 characters reach the routes.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PATH_PARAM_LENGTH },
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => requestIdOf(req.headers),
    // X-Forwarded-For is believed only from the hops named in TRUST_PROXY (default: nobody), so a client cannot
    // choose the IP that audit events and rate limits see.
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    // Fastify turns Node's request timeout off (0); on the open internet a client could then hold a connection for
    // good by sending its request a byte at a time. HTTP_REQUEST_TIMEOUT_MS (2 min) leaves a 5 MiB Drive upload
    // ~470 kbit/s; the headers get at most 60 s of it (liveness-probe.ts' serverFactory).
    requestTimeout: config.requestTimeoutMs,
    // Fastify's own answer to a request that reaches a closing server is a fixed body written before any hook (no
    // Retry-After, no next step, no OAuth shape, no security headers or request id, no request line). Off, the request
    // runs the hooks and the service's own onRequest hook (below) refuses it, so the exception filter shapes that 503
    // like every other. Fastify 5 has no option that sends its own 503 through the error handler.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorAnswer(headers, (req, status) => accounting.answeredBeforeRouting(req, status)) as never,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(env), adapter, {
    logger: options.logger ?? new PinoNestLogger(pino),
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  accounting = new RequestAccounting(requestLog, app.get(Metrics));
  // Before the plugins' onRequest hooks (CORS answers preflights in its own) and any hook that waits for anything
  // (only Nest's adapter's synchronous ones run earlier): from here on, a request whose connection closes is
  // accounted for, whatever answers it or fails.
  fastify.addHook('onRequest', (_req, reply, done) => {
    accounting.watch(reply);
    done();
  });
  // Form bodies (POST /auth/revoke, /oauth/*) are parsed by Nest's Fastify adapter itself.
  await app.register(fastifyCookie as never);
  // JSON bodies must be UTF-8 (json-body.ts); registered here, Nest's own JSON parser is not added at init.
  app.useBodyParser('application/json', { bodyLimit: fastify.initialConfig.bodyLimit }, utf8JsonParser(fastify));
  // CORS for /mcp, the OAuth endpoints and the metadata documents only; each route says which (see corsPolicy).
  const cors = corsPolicy(config);
  await app.register(fastifyCors as never, cors.plugin as never);
  fastify.addHook('onRoute', (route) => {
    route.config = { ...(route.config as object), cors: cors.forRoute(route.url) } as never;
    const gate = cors.originGate(route.url, route.method);
    if (gate) route.onRequest = [...[route.onRequest ?? []].flat(), gate];
  });
  // Reached only when the plugin did not answer the preflight itself (an origin without a grant): a 404, as before.
  for (const url of cors.preflightRoutes) fastify.options(url, (_req, reply) => reply.callNotFound());
  const lifecycle = app.get(Lifecycle);
  // One hook for all three (each hook is a step of every request): the security headers and the request id, set
  // before the rate limits so a 429 carries them too; and once the server is closing (preClose below), the refusal of
  // a request that still reached it (one begun on a connection before the close), before any rate limit, bearer
  // check or handler runs. Its connection closes (the onSend hook below, as every answer while draining).
  fastify.addHook('onRequest', (req, reply, done) => {
    reply.headers(headers);
    reply.header('x-request-id', req.id);
    if (lifecycle.closing) return done(new ShuttingDownError());
    done();
  });
  await registerRateLimits(app, config.rateLimits);
  liveness.follow(lifecycle);
  // Past SHUTDOWN_DRAIN_MS the requests still in flight lose their connections: better than the SIGKILL that would
  // otherwise come before the shutdown hooks write what must not be lost.
  fastify.addHook('preClose', (done) => {
    lifecycle.drainStarts(() => fastify.server.closeAllConnections());
    done();
  });
  const httpLog = new Logger('Http');
  new SendTimeout(config.sendTimeoutMs, (connections) =>
    httpLog.warn({ msg: 'closed connections whose client stopped reading its answer', event: 'send_timeout', connections, timeoutMs: config.sendTimeoutMs }),
  ).watch(fastify.server);
  registerHttpConventions(fastify); // 415 for non-JSON bodies on JSON routes, the route table behind 405
  const bearerBeforeBody = app.get(BearerAuthGuard).beforeBody();
  // Routes are registered at init, after this hook: only the Drive upload route and /mcp (create_drive_file carries
  // the same upload) may carry a body above 1 MiB, and only for a caller whose bearer is good: anyone else is refused
  // before the body is read (beforeBody says why).
  fastify.addHook('onRoute', (route) => {
    const upload = (route.url === DRIVE_UPLOAD_ROUTE.url && route.method === DRIVE_UPLOAD_ROUTE.method) || (route.url === '/mcp' && route.method === 'POST');
    if (upload) {
      route.bodyLimit = UPLOAD_BODY_LIMIT;
      route.onRequest = [...[route.onRequest ?? []].flat(), bearerBeforeBody];
    }
    if (route.url === '/oauth/register') route.bodyLimit = REGISTRATION_LIMITS.bodyBytes; // anonymous: keep it small
  });
  fastify.addHook('onSend', (_req, reply, payload, done) => {
    // While draining, every answer closes its connection: a kept-alive socket would hold the shutdown open
    // (Node closes only the connections idle when close() is called) and bring the client back here.
    if (lifecycle.draining) reply.header('connection', 'close');
    done(null, payload);
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    accounting.answered(req, reply);
    done();
  });
  setUpOpenApi(app);
  return app;
}

/**
 * Starts serving: the metrics on METRICS_PORT first (a port already taken stops the boot before anyone is sent
 * here), then the service on `port`, both at `host`.
 */
export async function listen(app: NestFastifyApplication, port: number, host: string): Promise<void> {
  await app.get(MetricsListener).listen(host);
  await app.listen(port, host);
}
