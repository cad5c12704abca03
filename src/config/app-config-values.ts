import type { RateLimit, TrustProxy } from './edge-settings.js';
import type { HostPattern } from './host-patterns-setting.js';
import type { StaticClient } from './static-clients-setting.js';

/** The validated, typed configuration the modules use. */
export interface AppConfigValues {
  port: number;
  /** Where GET /metrics is served (0: any free port); never the public PORT. */
  metricsPort: number;
  publicUrl: string;
  google: {
    clientId: string;
    clientSecret: string;
    scopes: string[];
    authUrl: string;
    tokenUrl: string;
    userinfoUrl: string;
    revokeUrl: string;
    apiRootUrl: string;
    httpTimeoutMs: number;
    /** The most one Google answer read whole may hold, decoded (credentials/google-answer-limit.ts). */
    maxAnswerBytes: number;
    /** DRIVE_DOWNLOAD_TIMEOUT_MS: how long a streamed Drive download (the REST route) may take in all. */
    downloadTimeoutMs: number;
    clientCacheTtlMs: number;
    clientCacheMax: number;
  };
  s3: {
    bucket: string;
    credentialsPrefix: string;
    sessionPrefix: string;
    region: string;
    endpoint?: string;
    forcePathStyle: boolean;
    sse: 'AES256' | 'aws:kms';
    kmsKeyId?: string;
    timeoutMs: number;
    latencyWarnMs: number;
    accessKeyId?: string;
    secretAccessKey?: string;
  };
  jwt: {
    algorithm: 'HS256' | 'ES256';
    secret?: string;
    privateKey?: string;
    issuer: string;
    audience: string;
    ttlSeconds: number;
    /** Key material for the sign-in flow cookie, derived from the JWT key so operators manage one secret. */
    flowCookieKey: Buffer;
    /** JWT_ACCEPTED_SECRETS (HS256): verify bearers, never sign; the signing secret is not among them. */
    acceptedSecrets: string[];
    /** JWT_ACCEPTED_PUBLIC_KEYS (ES256), as SPKI PEM: verify bearers and are published in the JWKS, never sign. */
    acceptedPublicKeys: string[];
    /** Flow cookie keys derived from the accepted keys (secrets, or ES256 private keys): open, never seal. */
    acceptedFlowCookieKeys: Buffer[];
  };
  /** callsPerUser: Google Workspace calls one user may have in flight at once on this replica (more are refused, 429). */
  workspace: { callsPerUser: number; callsQueuedPerUser: number };
  /** outageGraceMs: how long a session checked against S3 stays usable from memory while S3 is unreachable. */
  sessions: { cacheTtlMs: number; cacheMax: number; outageGraceMs: number; sweepIntervalMinutes: number };
  cookieSecure: 'auto' | boolean;
  /** Which proxies may set X-Forwarded-*: the client IP of audit events and rate limits depends on it. */
  trustProxy: TrustProxy;
  /** Per-IP limits by endpoint; undefined = not limited. */
  rateLimits: { register?: RateLimit; token?: RateLimit; authorize?: RateLimit; googleCallback?: RateLimit; revoke?: RateLimit; introspect?: RateLimit };
  logLevel: string;
  audit: { s3: boolean; prefix: string };
  /** On SIGTERM: answer not-ready this long (so load balancers stop sending), then drain and exit. */
  shutdownDelayMs: number;
  /** Then how long in-flight requests may take to finish before their connections are closed (0: no bound). */
  shutdownDrainMs: number;
  /** How long a client may take to send one whole request (headers and body) before it gets 408 and is disconnected. */
  requestTimeoutMs: number;
  /** How long an answer may wait for a client that stopped reading it before the connection is closed. */
  sendTimeoutMs: number;
  oauth: {
    prefix: string;
    dynamicRegistration: boolean;
    staticClients: StaticClient[];
    refreshTokenTtlSeconds: number;
    /** How long the refresh token just rotated away may be presented again (a retry) without revoking its family. */
    refreshReuseGraceSeconds: number;
    /** Registered clients not used for this many days are deleted. */
    unusedClientTtlDays: number;
    /** RFC 7591 initial access token: when set, registration needs `Authorization: Bearer <it>`. */
    registrationToken?: string;
    /** Key for values the authorization server seals (consent forms, cookies, refresh successors); derived from the JWT key. */
    sealKey: Buffer;
    /** Seal keys derived from the accepted JWT keys: open what a replica signing with one of them sealed, never seal. */
    acceptedSealKeys: Buffer[];
  };
  mcp: { tools: string[]; readOnly: boolean };
  /**
   * Client ID Metadata Documents: accepted at all, and (tests, internal networks) from http and private addresses;
   * `allowedHosts`: the only hosts documents are accepted from (empty: any); `sharedHosts`: hosts where anyone can
   * publish, besides the built-in list (the consent page warns about them).
   */
  cimd: { enabled: boolean; allowPrivateHosts: boolean; extraCa?: string; allowedHosts: HostPattern[]; sharedHosts: HostPattern[] };
  /** Browser origins allowed to call /mcp and the OAuth endpoints ('*' = any); empty = none beyond the defaults. */
  corsOrigins: string[];
}
