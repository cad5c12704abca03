import 'reflect-metadata';
import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DestinationStream } from 'pino';
import { createApp } from '../src/app.factory.js';
import { MetricsListener } from '../src/observability/metrics-listener.js';
import { prettyLogDestination } from '../src/observability/logging.js';
import { scopesToRequest, WORKSPACE_API_NEEDS } from '../src/common/google-scopes.js';
import { startGoogleEmulator, type GoogleEmulator } from '../emulators/google/google-emulator.js';
import { startS3Server, type S3Server } from '../emulators/s3/s3-server.js';

/** The local ports and the variables that move them (docs/development.md, "Running locally"). */
export const LOCAL_PORTS = { PORT: 3000, METRICS_PORT: 9464, LOCAL_S3_PORT: 4569, LOCAL_GOOGLE_PORT: 4010 } as const;
export type LocalPortVariable = keyof typeof LOCAL_PORTS;

/** A port of the local stack is taken; the message names the variable that moves it. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(
    readonly variable: LocalPortVariable,
    readonly port: number,
  ) {
    super(`port ${port} (${variable}) is already in use, probably by another \`npm run start:local\`. Stop that one, or start with ${variable}=<another port>.`);
  }
}

export interface LocalStackOptions {
  /** Default process.env. */
  env?: Record<string, string | undefined>;
  /** Where the progress lines go (default console.log). */
  say?: (line: string) => void;
  /** Passed to createApp (tests capture the service's logs). */
  logger?: LoggerService;
  logDestination?: DestinationStream;
}

/** The running local stack: the service, and the embedded S3 server and Google emulator unless real ones were configured. */
export interface LocalStack {
  url: string;
  app: NestFastifyApplication;
  google?: GoogleEmulator;
  s3?: S3Server;
  /** Where the run keeps its state (LOCAL_DATA_DIR, default .local-data/). */
  dataDir: string;
  /** Drains the service (in-flight requests finish), then stops the emulator (saving its state) and S3. */
  stop(): Promise<void>;
}

/** Every Workspace route works at once in the local run: the narrowest scope of each kind of call. */
export const LOCAL_GOOGLE_SCOPES = scopesToRequest(Object.values(WORKSPACE_API_NEEDS).flat());

/** The ports of the local stack as configured, with the variable naming each; only those the run will open. */
export function localPorts(env: Record<string, string | undefined>): Array<{ variable: LocalPortVariable; port: number }> {
  const port = (v: LocalPortVariable) => ({ variable: v, port: Number(env[v] ?? LOCAL_PORTS[v]) });
  return [port('PORT'), port('METRICS_PORT'), ...(env.S3_BUCKET ? [] : [port('LOCAL_S3_PORT')]), ...(env.GOOGLE_CLIENT_ID ? [] : [port('LOCAL_GOOGLE_PORT')])];
}

/** Throws PortInUseError for the first configured port someone already listens on (checked before anything starts). */
export async function assertPortsFree(env: Record<string, string | undefined>): Promise<void> {
  for (const { variable, port } of localPorts(env)) {
    if (port === 0) continue;
    const free = await new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once('error', () => done(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
    });
    if (!free) throw new PortInUseError(variable, port);
  }
}

/**
 * `npm run start:local`: the service with an embedded S3 server and, without GOOGLE_CLIENT_ID, the Google emulator
 * whose sign-in page accepts any email. Everything a restart must remember lives under LOCAL_DATA_DIR (default
 * .local-data/): the S3 objects, the JWT secret, and the emulator's grants, tokens and Workspace data, so a restart
 * keeps every signed-in user signed in. Real GOOGLE_* or S3_* settings in the environment replace the embedded parts.
 */
export async function startLocal(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const given = opts.env ?? process.env;
  const say = opts.say ?? ((line: string) => console.log(line));
  await assertPortsFree(given);
  const dataDir = resolve(given.LOCAL_DATA_DIR ?? '.local-data');
  mkdirSync(join(dataDir, 's3'), { recursive: true });
  const port = Number(given.PORT ?? LOCAL_PORTS.PORT);
  // Loopback only, and one host name everywhere: the sign-in cookie is set for the host the browser used, so
  // PUBLIC_URL (where Google sends the browser back) names the same host; /auth/google sends other hosts there first.
  // No load balancer to wait for locally: Ctrl-C drains at once unless SHUTDOWN_DELAY_MS says otherwise.
  const metricsPort = Number(given.METRICS_PORT ?? LOCAL_PORTS.METRICS_PORT);
  const env: Record<string, string | undefined> = { PUBLIC_URL: `http://127.0.0.1:${port}`, SHUTDOWN_DELAY_MS: '0', ...given, PORT: String(port), METRICS_PORT: String(metricsPort) };
  const started: { s3?: S3Server; google?: GoogleEmulator } = {};
  const stopParts = async () => {
    await started.google?.stop();
    await started.s3?.stop();
  };

  try {
    if (!given.S3_BUCKET) {
      const bucket = 'local-credentials';
      const s3 = await listening('LOCAL_S3_PORT', () =>
        startS3Server({ port: Number(given.LOCAL_S3_PORT ?? LOCAL_PORTS.LOCAL_S3_PORT), directory: join(dataDir, 's3'), buckets: [bucket], silent: true }),
      );
      started.s3 = s3;
      Object.assign(env, {
        S3_BUCKET: bucket,
        S3_ENDPOINT: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: s3.region,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      });
      say(`embedded S3 server: ${s3.endpoint} (bucket ${bucket}, data in ${join(dataDir, 's3')})`);
    }

    if (!given.GOOGLE_CLIENT_ID) {
      const google = await listening('LOCAL_GOOGLE_PORT', () =>
        startGoogleEmulator({ port: Number(given.LOCAL_GOOGLE_PORT ?? LOCAL_PORTS.LOCAL_GOOGLE_PORT), stateFile: join(dataDir, 'google-emulator.json') }),
      );
      started.google = google;
      Object.assign(env, {
        GOOGLE_CLIENT_ID: google.clientId,
        GOOGLE_CLIENT_SECRET: google.clientSecret,
        GOOGLE_AUTH_URL: google.urls.auth,
        GOOGLE_TOKEN_URL: google.urls.token,
        GOOGLE_USERINFO_URL: google.urls.userinfo,
        GOOGLE_REVOKE_URL: google.urls.revoke,
        GOOGLE_API_ROOT_URL: google.urls.apiRoot,
        // With the emulator nothing real is at stake: every route works at once. Production keeps the read-only default.
        GOOGLE_SCOPES: given.GOOGLE_SCOPES ?? LOCAL_GOOGLE_SCOPES.join(' '),
      });
      say(`Google emulator: ${google.baseUrl} (any email signs in; grants kept in ${join(dataDir, 'google-emulator.json')})`);
    }

    if (!given.JWT_SECRET && !given.JWT_PRIVATE_KEY) {
      // Kept across restarts so bearer tokens stay valid while developing.
      const secretFile = join(dataDir, 'jwt-secret');
      if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
      env.JWT_SECRET = readFileSync(secretFile, 'utf8').trim();
    }

    // A person reads these (tests bring their own logger): readable lines, flushed before the stop is reported.
    const pretty = opts.logger || opts.logDestination ? undefined : prettyLogDestination();
    const app = await createApp({ env, logger: opts.logger, logDestination: opts.logDestination ?? pretty, processWarnings: !opts.logger });
    await listening('METRICS_PORT', () => app.get(MetricsListener).listen('127.0.0.1'));
    await listening('PORT', () => app.listen(port, '127.0.0.1'));
    const url = env.PUBLIC_URL as string;
    let stopping: Promise<void> | undefined;
    return {
      url,
      app,
      dataDir,
      ...started,
      stop: () =>
        (stopping ??= (async () => {
          await app.close();
          if (pretty) await new Promise((flushed) => pretty.flush(() => flushed(undefined)));
          await stopParts();
        })()),
    };
  } catch (err) {
    await stopParts();
    throw err;
  }
}

/** Runs `listen`, turning EADDRINUSE (someone took the port since the check) into the error naming the variable. */
async function listening<T>(variable: LocalPortVariable, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const e = err as { code?: string; port?: number };
    if (e?.code === 'EADDRINUSE') throw new PortInUseError(variable, e.port ?? 0);
    throw err;
  }
}

/** The command line: start, print where to go, and on SIGTERM or SIGINT stop everything (drained) and exit 0. */
export async function main(): Promise<void> {
  const t0 = Number(process.env.START_LOCAL_T0 ?? Date.now());
  const stack = await startLocal();
  const base = stack.url;
  // CPU time too: on a busy machine the wall time says more about the neighbours than about this start.
  const cpu = process.cpuUsage();
  console.log(`
Workspace credential broker on ${base}   (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU)
  Open ${base}/ in a browser and press "Sign in with Google" (the emulator takes any email).
  The token page gives you a ready "export TOKEN=..." line and curl examples.
  API docs: ${base}/docs   Health: ${base}/health/ready   Metrics: ${stack.app.get(MetricsListener).url}   Stop: Ctrl-C
`);
  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) return; // Ctrl-C reaches us twice: from the terminal and forwarded by npm
    signalled = true;
    console.log(`${signal}: stopping (finishing in-flight requests)...`);
    stack.stop().then(
      () => {
        // Said, so a person at the terminal knows the stop finished and that nothing was lost with it.
        console.log(`Stopped. Sign-ins and data stay in ${stack.dataDir}: the next \`npm run start:local\` picks them up (delete that folder to start afresh).`);
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`start:local could not stop cleanly: ${(err as Error)?.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(`start:local failed: ${(err as Error)?.message ?? String(err)}`);
    process.exit(1);
  });
}
