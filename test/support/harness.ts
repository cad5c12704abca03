import 'reflect-metadata';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openS3Target, type S3Target } from './s3-target.js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServer, type Server } from 'node:net';
import { createApp, listen } from '../../src/app.factory.js';
import { MetricsListener } from '../../src/observability/metrics-listener.js';
import { startGoogleEmulator, type GoogleEmulator } from '../../emulators/google/google-emulator.js';
import { CapturedLogger } from './captured-logger.js';
import { Browser } from './http-client.js';
import type { FaultProxy } from './fault-proxy.js';

export const JWT_SECRET = 'test-jwt-secret-that-is-at-least-32-bytes-long';

/** A real S3 server and a Google emulator, shared by the service instances of one test file. */
export interface World {
  /** The embedded S3 server, or the external S3 named by S3_TEST_ENDPOINT (see s3-target.ts). */
  s3: S3Target;
  google: GoogleEmulator;
  bucket: string;
  /** An S3 client that looks at the bucket directly, as an operator would. */
  admin: S3Client;
  /**
   * Every log line of every service instance of this world. One capture for all: Nest's Logger is process-wide
   * (the last app created owns it), so per-instance captures would split one instance's lines across several.
   */
  logs: CapturedLogger;
  close(): Promise<void>;
}

/** Starts S3 (with a fresh bucket) and the Google emulator; when a step fails, closes what started before throwing. */
export async function startWorld(): Promise<World> {
  const s3 = await openS3Target();
  let google: GoogleEmulator;
  let bucket: string;
  try {
    bucket = await s3.createBucket('broker-test');
    google = await startGoogleEmulator();
  } catch (err) {
    await s3.close().catch(() => undefined);
    throw err;
  }
  return {
    s3,
    google,
    bucket,
    admin: s3.client(),
    logs: new CapturedLogger(),
    close: () => closeInOrder(() => google.stop(), () => s3.close()),
  };
}

/**
 * Runs every step in order, each one even when a step before it failed, then throws the first failure: a close that
 * throws must not leave the servers after it listening (jest would then wait on them past the run).
 */
export async function closeInOrder(...steps: Array<(() => Promise<unknown>) | undefined>): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step?.();
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) throw failures[0];
}

/** The environment a service instance gets in tests. */
export function serviceEnv(world: World, port: number, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PORT: String(port),
    METRICS_PORT: '0', // several instances share this process
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    GOOGLE_CLIENT_ID: world.google.clientId,
    GOOGLE_CLIENT_SECRET: world.google.clientSecret,
    GOOGLE_AUTH_URL: world.google.urls.auth,
    GOOGLE_TOKEN_URL: world.google.urls.token,
    GOOGLE_USERINFO_URL: world.google.urls.userinfo,
    GOOGLE_REVOKE_URL: world.google.urls.revoke,
    GOOGLE_API_ROOT_URL: world.google.urls.apiRoot,
    // Generous bounds: the service, the S3 server and the emulator share this process (and 2 cores with jest), so a
    // loaded CI machine can stall all three for seconds (a first-use import of a Google API library blocks the loop),
    // and a 2 s bound then turned a slow answer into a 503 (CI, 2026-12-02). Specs that test a timeout set their own.
    GOOGLE_HTTP_TIMEOUT_MS: '10000',
    S3_BUCKET: world.bucket,
    S3_ENDPOINT: world.s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_TIMEOUT_MS: '10000',
    AWS_REGION: world.s3.region,
    AWS_ACCESS_KEY_ID: world.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: world.s3.secretAccessKey,
    S3_SSE: world.s3.sse,
    S3_SSE_KMS_KEY_ID: world.s3.kmsKeyId,
    JWT_SECRET,
    // Replicas share one issuer (as behind one Kubernetes Service); each test instance has its own PUBLIC_URL.
    JWT_ISSUER: 'https://broker.test',
    SHUTDOWN_DELAY_MS: '0',
    // Every request of a spec comes from 127.0.0.1: limits high enough that none is throttled by accident
    // (rate-limits.e2e.spec.ts sets low ones to prove the 429).
    RATE_LIMIT_REGISTER: '100000/60',
    RATE_LIMIT_TOKEN: '100000/60',
    RATE_LIMIT_AUTHORIZE: '100000/60',
    RATE_LIMIT_GOOGLE_CALLBACK: '100000/60',
    RATE_LIMIT_REVOKE: '100000/60',
    RATE_LIMIT_INTROSPECT: '100000/60',
    ...overrides,
  };
}

/** Anything that answers HTTP as the service: an in-process instance or a replica process. */
export interface Endpoint {
  url: string;
}

/** One running service instance. */
export interface Service {
  app: NestFastifyApplication;
  url: string;
  /** GET /metrics, on the instance's own METRICS_PORT (a free port in the tests). */
  metricsUrl: string;
  logs: CapturedLogger;
  close(): Promise<void>;
}

/** The service's settings that send its Google API, token and revocation calls through `proxy` (a FaultProxy in front of the emulator). */
export function googleThrough(world: World, proxy: FaultProxy): Record<string, string> {
  return {
    GOOGLE_API_ROOT_URL: `${proxy.url}/`,
    GOOGLE_TOKEN_URL: proxy.rewrite(world.google.urls.token),
    GOOGLE_REVOKE_URL: proxy.rewrite(world.google.urls.revoke),
  };
}

/** Boots a service instance on a free port, listening on 127.0.0.1. */
export async function startService(world: World, overrides: Record<string, string | undefined> = {}): Promise<Service> {
  const port = await freePort();
  const logs = world.logs;
  const app = await createApp({ env: serviceEnv(world, port, overrides), logger: logs, logDestination: logs });
  await listen(app, port, '127.0.0.1').catch(async (err: unknown) => {
    await app.close();
    throw err;
  });
  return { app, url: `http://127.0.0.1:${port}`, metricsUrl: app.get(MetricsListener).url as string, logs, close: () => app.close() };
}

/**
 * A world and one service instance on it: the usual set-up of an end-to-end spec. When the service does not start,
 * the world is closed before the error is thrown: the caller never got it, so its afterAll could not.
 */
export async function startWorldWithService(overrides: Record<string, string | undefined> = {}): Promise<{ world: World; sut: Service }> {
  const world = await startWorld();
  try {
    return { world, sut: await startService(world, overrides) };
  } catch (err) {
    await world.close().catch(() => undefined);
    throw err;
  }
}

/** Stops what startWorldWithService started: the service, then the world, even when the service's close failed. */
export function stopAll(world: World | undefined, sut: Service | undefined): Promise<void> {
  return closeInOrder(sut && (() => sut.close()), world && (() => world.close()));
}

/** What the callback answers. */
export interface SignedIn {
  access_token: string;
  token_type: string;
  expires_in: number;
  email: string;
  session_id: string;
}

/** Runs the whole browser sign-in: /auth/google -> Google consent (emulator) -> callback. Returns the JSON. */
export async function signIn(service: Endpoint, world: World, email: string, browser = new Browser()): Promise<SignedIn> {
  const res = await completeSignIn(service, world, email, browser);
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as SignedIn;
}

/** Like signIn, but returns the callback's raw response (for error cases), following one consent restart. */
export async function completeSignIn(service: Endpoint, world: World, email: string, browser = new Browser(), opts: { emailVerified?: boolean; deny?: boolean } = {}): Promise<Response> {
  let location = await startSignIn(service, browser, email);
  for (let hop = 0; hop < 3; hop++) {
    const callbackUrl = await world.google.approve(location, { email, ...opts });
    const res = await browser.get(callbackUrl);
    if (res.status !== 302) return res;
    location = res.headers.get('location') ?? '';
  }
  throw new Error('sign-in kept redirecting');
}

/** GET /auth/google and return Google's authorize URL. */
export async function startSignIn(service: Endpoint, browser: Browser, loginHint?: string): Promise<string> {
  const res = await browser.get(`${service.url}/auth/google${loginHint ? `?login_hint=${encodeURIComponent(loginHint)}` : ''}`);
  if (res.status !== 302) throw new Error(`expected a redirect, got ${res.status} ${await res.text()}`);
  return res.headers.get('location') ?? '';
}

/** Where a POST carries the token /auth/revoke reads: the Authorization header, or `token` in a JSON or form body. */
export type TokenCarrier = 'header' | 'json' | 'form';

/** POSTs to `path` with `token` carried as `how` says (DESIGN: /auth/revoke takes all three). */
export function postToken(service: Endpoint, path: string, token: string, how: TokenCarrier = 'header'): Promise<Response> {
  return fetch(`${service.url}${path}`, {
    method: 'POST',
    ...(how === 'header'
      ? { headers: { authorization: `Bearer ${token}` } }
      : how === 'json'
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) }
        : { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() }),
  });
}

/** GET with a bearer token. */
export function getWithBearer(service: Endpoint, path: string, token: string): Promise<Response> {
  return fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

/** The stored JSON object and its head, read straight from S3. */
export async function readObject(world: World, key: string) {
  const head = await world.admin.send(new HeadObjectCommand({ Bucket: world.bucket, Key: key }));
  const body = await world.admin.send(new GetObjectCommand({ Bucket: world.bucket, Key: key }));
  return { head, json: JSON.parse((await body.Body?.transformToString()) ?? '') as Record<string, unknown> };
}

/** A fault-proxy path rule matching the user's credentials object (`@` may arrive percent-encoded). */
export function credentialsKeyPath(email: string): RegExp {
  return new RegExp(`/credentials/${email.replace('@', '(@|%40)').replace(/\./g, '\\.')}\\.json$`);
}

/** True when the key exists in S3. */
export async function objectExists(world: World, key: string): Promise<boolean> {
  try {
    await world.admin.send(new HeadObjectCommand({ Bucket: world.bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/** Creates another bucket (for tests that need an empty one). */
export async function createBucket(world: World, name: string): Promise<void> {
  await world.admin.send(new CreateBucketCommand({ Bucket: name }));
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}

/**
 * `count` different ports nobody listens on right now. Each is held until all are found: asked for one at a time,
 * the system may hand out a port just released again (two replicas' PORT and METRICS_PORT came out equal once).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<Server>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve(srv));
    })),
  );
  const ports = servers.map((srv) => (srv.address() as { port: number }).port);
  await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  return ports;
}
