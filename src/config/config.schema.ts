import { createPrivateKey, createPublicKey } from 'node:crypto';
import { acceptedEcKeys, acceptedSecrets, flowCookieKeyOf, sealKeyOf } from './accepted-keys-setting.js';
import { z } from 'zod';
import { googleScopesSetting } from './google-scopes-setting.js';
import { canonicalPublicUrl, publicUrlProblem } from './public-url.js';
import { rateLimitSetting, trustProxySetting } from './edge-settings.js';
import type { AppConfigValues } from './app-config-values.js';
import { staticClientsSetting } from './static-clients-setting.js';
import { hostPatternsSetting } from './host-patterns-setting.js';

const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');
/** A whole-number setting; its messages say the rule and the default ("PORT must be a whole number (default 3000)"). */
const int = (def: number, min: number, max?: number) => {
  const hint = ` (default ${def})`;
  const n = z.coerce.number({ error: `must be a whole number${hint}` }).int(`must be a whole number${hint}`).min(min, `must be at least ${min}${hint}`);
  return (max === undefined ? n : n.max(max, `must be at most ${max}${hint}`)).default(def);
};
const url = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL with a scheme, like https://broker.example.com or http://127.0.0.1:9000' });
const required = (what: string) => z.string({ error: `is required (${what})` }).min(1, `is required (${what})`);
const prefix = (def: string) =>
  z
    .string()
    .default(def)
    .refine((p) => p === '' || p.endsWith('/'), 'must end with "/" (or be empty)');


/**
 * Default GOOGLE_MAX_ANSWER_BYTES: above Gmail's largest attachment (25 MB, about 34 MB once base64url encoded), and
 * small enough that a few such answers at once fit the heap the Deployment gives a replica (384 MB).
 */
export const DEFAULT_GOOGLE_MAX_ANSWER_BYTES = 48 * 1024 * 1024;

/** Default WORKSPACE_CALLS_PER_USER: Google Workspace calls one user may have in flight at once on one replica. */
export const DEFAULT_WORKSPACE_CALLS_PER_USER = 16;
/** Default WORKSPACE_CALLS_QUEUED_PER_USER: calls of one user that may wait for a slot (a burst waits, a flood is refused). */
export const DEFAULT_WORKSPACE_CALLS_QUEUED_PER_USER = 256;

/**
 * Why JWT_PRIVATE_KEY cannot sign ES256 bearers, or undefined when it can. Checked at boot: a key of another type used
 * to boot and then fail every sign-in with a 500. The message never contains the key.
 */
function es256KeyProblem(pem: string): string | undefined {
  let found: string;
  try {
    const key = createPrivateKey(pem);
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return undefined;
    found = `this one is of type ${key.asymmetricKeyType}${curve ? ` (curve ${curve})` : ''}`;
  } catch {
    found = 'this value does not read as an unencrypted PEM private key';
  }
  return `must be an EC P-256 private key (ES256) in PEM, ${found}. Make one with \`openssl ecparam -name prime256v1 -genkey -noout\` (newlines may be written as \\n), or set JWT_SECRET (HS256) instead`;
}

/** The environment variables the service reads (names agreed in DESIGN.md). */
export const envSchema = z
  .object({
    PORT: int(3000, 0),
    /** Prometheus metrics, on a port of their own (the pod network's), never on PORT. */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    PUBLIC_URL: url.check((ctx) => {
      const problem = publicUrlProblem(ctx.value);
      if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
    }).optional(),
    GOOGLE_CLIENT_ID: required('the OAuth client id from Google Cloud console'),
    GOOGLE_CLIENT_SECRET: required('the OAuth client secret from Google Cloud console'),
    GOOGLE_SCOPES: googleScopesSetting,
    GOOGLE_AUTH_URL: url.default('https://accounts.google.com/o/oauth2/v2/auth'),
    GOOGLE_TOKEN_URL: url.default('https://oauth2.googleapis.com/token'),
    GOOGLE_USERINFO_URL: url.default('https://openidconnect.googleapis.com/v1/userinfo'),
    GOOGLE_REVOKE_URL: url.default('https://oauth2.googleapis.com/revoke'),
    GOOGLE_API_ROOT_URL: url.default('https://www.googleapis.com/'),
    GOOGLE_HTTP_TIMEOUT_MS: int(10000, 100),
    GOOGLE_MAX_ANSWER_BYTES: int(DEFAULT_GOOGLE_MAX_ANSWER_BYTES, 65536),
    DRIVE_DOWNLOAD_TIMEOUT_MS: int(600000, 1000),
    S3_BUCKET: required('the bucket that holds credentials and sessions').pipe(z.string().min(3, 'must be a bucket name (3-63 characters)')),
    S3_PREFIX: prefix('credentials/'),
    S3_SESSION_PREFIX: prefix('sessions/'),
    AWS_REGION: z.string().default('us-east-1'),
    S3_ENDPOINT: url.optional(),
    S3_FORCE_PATH_STYLE: bool,
    S3_SSE: z.enum(['AES256', 'aws:kms']).default('AES256'),
    S3_SSE_KMS_KEY_ID: z.string().optional(),
    S3_TIMEOUT_MS: int(5000, 100),
    AWS_ACCESS_KEY_ID: z.string().optional(),
    AWS_SECRET_ACCESS_KEY: z.string().optional(),
    JWT_SECRET: z.string().min(32, 'must be at least 32 bytes (HS256 key)').optional(),
    JWT_PRIVATE_KEY: z.string().optional(),
    // Keys accepted besides the signing key, never signed with: the rotation's overlap (README, "Rotating the signing key").
    JWT_ACCEPTED_SECRETS: z.string().optional(),
    JWT_ACCEPTED_PUBLIC_KEYS: z.string().optional(),
    JWT_ISSUER: z.string().optional(),
    JWT_AUDIENCE: z.string().default('workspace-api'),
    JWT_TTL_SECONDS: int(3600, 60),
    SESSION_CACHE_TTL_MS: int(5000, 0),
    SESSION_CACHE_MAX: int(100000, 1),
    SESSION_OUTAGE_GRACE_MS: int(300000, 0),
    // At most a week: the timer cannot wait longer than 2^31 ms (about 24.8 days), and a week is plenty.
    SESSION_SWEEP_INTERVAL_MINUTES: int(360, 0, 10080),
    GOOGLE_CLIENT_CACHE_TTL_MS: int(1800000, 0),
    GOOGLE_CLIENT_CACHE_MAX: int(10000, 1),
    // Above 10: issue 14's refresh storm (bench/refresh-storm.bench.ts) fires 10 concurrent calls per user, all to succeed.
    WORKSPACE_CALLS_PER_USER: int(DEFAULT_WORKSPACE_CALLS_PER_USER, 1),
    WORKSPACE_CALLS_QUEUED_PER_USER: int(DEFAULT_WORKSPACE_CALLS_QUEUED_PER_USER, 0),
    S3_LATENCY_WARN_MS: int(500, 1),
    COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
    TRUST_PROXY: trustProxySetting,
    RATE_LIMIT_REGISTER: rateLimitSetting('30/3600'),
    RATE_LIMIT_TOKEN: rateLimitSetting('120/60'),
    RATE_LIMIT_AUTHORIZE: rateLimitSetting('60/60'),
    RATE_LIMIT_GOOGLE_CALLBACK: rateLimitSetting('60/60'),
    RATE_LIMIT_REVOKE: rateLimitSetting('60/60'),
    // Its own budget, larger than the token endpoint's: a resource server may introspect once per request it serves.
    RATE_LIMIT_INTROSPECT: rateLimitSetting('300/60'),
    OAUTH_PREFIX: prefix('oauth/'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    AUDIT_S3: z.enum(['true', 'false']).default('false'),
    AUDIT_S3_PREFIX: prefix('audit/'),
    SHUTDOWN_DELAY_MS: int(5000, 0),
    SHUTDOWN_DRAIN_MS: int(15000, 0),
    HTTP_REQUEST_TIMEOUT_MS: int(120000, 1000),
    HTTP_SEND_TIMEOUT_MS: int(60000, 1000),
    OAUTH_DYNAMIC_REGISTRATION: z.enum(['true', 'false']).default('true'),
    OAUTH_STATIC_CLIENTS: staticClientsSetting,
    OAUTH_REFRESH_TOKEN_TTL_SECONDS: int(30 * 24 * 3600, 300),
    OAUTH_REFRESH_REUSE_GRACE_SECONDS: int(30, 0),
    OAUTH_UNUSED_CLIENT_TTL_DAYS: int(30, 1),
    OAUTH_REGISTRATION_TOKEN: z.string().min(32, 'must be at least 32 characters (a random initial access token)').optional(),
    MCP_TOOLS: z.string().regex(/^\s*[a-z_]+\s*(,\s*[a-z_]+\s*)*$/, 'must be a comma list of tiers (core, extended, all), services or tool names').default('all'),
    MCP_READ_ONLY: z.enum(['true', 'false']).default('false'),
    OAUTH_CLIENT_METADATA_DOCUMENTS: z.enum(['true', 'false']).default('true'),
    OAUTH_CIMD_ALLOW_PRIVATE_HOSTS: z.enum(['true', 'false']).default('false'),
    OAUTH_CIMD_EXTRA_CA: z.string().regex(/-----BEGIN CERTIFICATE-----/, 'must be PEM certificates').optional(),
    // Which hosts' metadata documents are accepted at all (empty: any); checked before anything is fetched.
    OAUTH_CIMD_ALLOWED_HOSTS: hostPatternsSetting({ wildcardOverPublicSuffix: false }),
    // Hosts where anyone can publish, besides the built-in ones (src/oauth/shared-hosts.ts): the consent page warns.
    OAUTH_CIMD_SHARED_HOSTS: hostPatternsSetting({ wildcardOverPublicSuffix: true }),
    CORS_ORIGINS: z.string().default('').refine((v) => v.split(',').map((o) => o.trim()).filter(Boolean).every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)), 'must be * or a comma list of origins like https://app.example.com (scheme and host, no path)'),
  })
  .superRefine((env, ctx) => {
    if (env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT: metrics are served on a port of their own, kept off the public one' });
    }
    if (!env.JWT_SECRET && !env.JWT_PRIVATE_KEY) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required: set JWT_SECRET (>= 32 bytes) or JWT_PRIVATE_KEY (ES256 PEM)' });
    }
    if (env.JWT_SECRET && env.JWT_PRIVATE_KEY) {
      ctx.addIssue({ code: 'custom', path: ['JWT_PRIVATE_KEY'], message: 'conflicts with JWT_SECRET: set only one of them' });
    }
    const keyProblem = env.JWT_PRIVATE_KEY ? es256KeyProblem(env.JWT_PRIVATE_KEY.replace(/\\n/g, '\n')) : undefined;
    if (keyProblem) ctx.addIssue({ code: 'custom', path: ['JWT_PRIVATE_KEY'], message: keyProblem });
    // An accepted key of the other algorithm would never verify anything (the algorithm is pinned): a mistake, said at
    // boot rather than found as 401s mid-rotation. Changing the algorithm is not a key rotation.
    if (env.JWT_ACCEPTED_SECRETS !== undefined) {
      const found = acceptedSecrets(env.JWT_ACCEPTED_SECRETS);
      if (env.JWT_PRIVATE_KEY) {
        ctx.addIssue({ code: 'custom', path: ['JWT_ACCEPTED_SECRETS'], message: 'holds HS256 secrets, but bearer tokens here are ES256 (JWT_PRIVATE_KEY): list the other ES256 keys in JWT_ACCEPTED_PUBLIC_KEYS instead' });
      } else if ('problem' in found) {
        ctx.addIssue({ code: 'custom', path: ['JWT_ACCEPTED_SECRETS'], message: found.problem });
      }
    }
    if (env.JWT_ACCEPTED_PUBLIC_KEYS !== undefined) {
      const found = acceptedEcKeys(env.JWT_ACCEPTED_PUBLIC_KEYS);
      if (env.JWT_SECRET) {
        ctx.addIssue({ code: 'custom', path: ['JWT_ACCEPTED_PUBLIC_KEYS'], message: 'holds ES256 keys, but bearer tokens here are HS256 (JWT_SECRET): list the other HS256 secrets in JWT_ACCEPTED_SECRETS instead' });
      } else if ('problem' in found) {
        ctx.addIssue({ code: 'custom', path: ['JWT_ACCEPTED_PUBLIC_KEYS'], message: found.problem });
      }
    }
    if (env.S3_SSE === 'aws:kms' && !env.S3_SSE_KMS_KEY_ID) {
      ctx.addIssue({ code: 'custom', path: ['S3_SSE_KMS_KEY_ID'], message: 'is required when S3_SSE=aws:kms' });
    }
    if (Boolean(env.AWS_ACCESS_KEY_ID) !== Boolean(env.AWS_SECRET_ACCESS_KEY)) {
      ctx.addIssue({ code: 'custom', path: ['AWS_SECRET_ACCESS_KEY'], message: 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together' });
    }
    // Also when another variable is bad (zod skips refinements after any issue by default): the boot message names
    // every problem at once, so an empty environment does not report JWT_SECRET only on the second try.
  }, { when: (payload) => typeof payload.value === 'object' && payload.value !== null });

export type Env = z.infer<typeof envSchema>;
export type { AppConfigValues } from './app-config-values.js';


/** Thrown at boot; the message names every bad variable so the operator can fix them in one go. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment and returns the typed configuration, or throws a ConfigError naming the variables. */
export function parseConfig(raw: Record<string, string | undefined>): AppConfigValues {
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || 'environment'} ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}. Fix these environment variables and start again.`);
  }
  const env = result.data;
  // Canonical once, here: everything built from it (issuer, redirect URI, resource ids) then matches what clients send back.
  const publicUrl = canonicalPublicUrl(env.PUBLIC_URL ?? `http://localhost:${env.PORT}`);
  // The derived keys come from the variable's text as written (a PEM with `\n` escapes derives other keys than the
  // same PEM with newlines); changing that would end every sign-in in flight on the upgrade.
  const keyMaterial = env.JWT_SECRET ?? env.JWT_PRIVATE_KEY ?? '';
  const secrets = env.JWT_SECRET && env.JWT_ACCEPTED_SECRETS !== undefined ? acceptedSecrets(env.JWT_ACCEPTED_SECRETS) : undefined;
  const ecKeys = env.JWT_PRIVATE_KEY && env.JWT_ACCEPTED_PUBLIC_KEYS !== undefined ? acceptedEcKeys(env.JWT_ACCEPTED_PUBLIC_KEYS) : undefined;
  // Validated above: both are lists here. The signing key itself, listed again, is not "another" key.
  const otherSecrets = (secrets && 'secrets' in secrets ? secrets.secrets : []).filter((s) => s !== env.JWT_SECRET);
  const signingPublicPem = ecKeys ? (createPublicKey(env.JWT_PRIVATE_KEY?.replace(/\\n/g, '\n') ?? '').export({ type: 'spki', format: 'pem' }) as string) : undefined;
  const otherEcKeys = (ecKeys && 'keys' in ecKeys ? ecKeys.keys : []).filter((k) => k.publicPem !== signingPublicPem);
  // Keys a replica signing with an accepted key seals with: opened too, never sealed with.
  const acceptedMaterial = [...otherSecrets, ...otherEcKeys.flatMap((k) => k.privateSpellings ?? [])].filter((m) => m !== keyMaterial);
  return {
    port: env.PORT,
    metricsPort: env.METRICS_PORT,
    publicUrl,
    google: {
      clientId: env.GOOGLE_CLIENT_ID,
      clientSecret: env.GOOGLE_CLIENT_SECRET,
      scopes: [...new Set(['openid', 'email', 'profile', ...env.GOOGLE_SCOPES])],
      authUrl: env.GOOGLE_AUTH_URL,
      tokenUrl: env.GOOGLE_TOKEN_URL,
      userinfoUrl: env.GOOGLE_USERINFO_URL,
      revokeUrl: env.GOOGLE_REVOKE_URL,
      apiRootUrl: env.GOOGLE_API_ROOT_URL.endsWith('/') ? env.GOOGLE_API_ROOT_URL : `${env.GOOGLE_API_ROOT_URL}/`,
      httpTimeoutMs: env.GOOGLE_HTTP_TIMEOUT_MS,
      maxAnswerBytes: env.GOOGLE_MAX_ANSWER_BYTES,
      downloadTimeoutMs: env.DRIVE_DOWNLOAD_TIMEOUT_MS,
      clientCacheTtlMs: env.GOOGLE_CLIENT_CACHE_TTL_MS,
      clientCacheMax: env.GOOGLE_CLIENT_CACHE_MAX,
    },
    s3: {
      bucket: env.S3_BUCKET,
      credentialsPrefix: env.S3_PREFIX,
      sessionPrefix: env.S3_SESSION_PREFIX,
      region: env.AWS_REGION,
      endpoint: env.S3_ENDPOINT,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      sse: env.S3_SSE,
      kmsKeyId: env.S3_SSE_KMS_KEY_ID,
      timeoutMs: env.S3_TIMEOUT_MS,
      latencyWarnMs: env.S3_LATENCY_WARN_MS,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    },
    jwt: {
      algorithm: env.JWT_PRIVATE_KEY ? 'ES256' : 'HS256',
      secret: env.JWT_SECRET,
      privateKey: env.JWT_PRIVATE_KEY?.replace(/\\n/g, '\n'),
      issuer: env.JWT_ISSUER ?? publicUrl,
      audience: env.JWT_AUDIENCE,
      ttlSeconds: env.JWT_TTL_SECONDS,
      flowCookieKey: flowCookieKeyOf(keyMaterial),
      acceptedSecrets: otherSecrets,
      acceptedPublicKeys: otherEcKeys.map((k) => k.publicPem),
      acceptedFlowCookieKeys: acceptedMaterial.map(flowCookieKeyOf),
    },
    workspace: { callsPerUser: env.WORKSPACE_CALLS_PER_USER, callsQueuedPerUser: env.WORKSPACE_CALLS_QUEUED_PER_USER },
    sessions: { cacheTtlMs: env.SESSION_CACHE_TTL_MS, cacheMax: env.SESSION_CACHE_MAX, outageGraceMs: env.SESSION_OUTAGE_GRACE_MS, sweepIntervalMinutes: env.SESSION_SWEEP_INTERVAL_MINUTES },
    cookieSecure: env.COOKIE_SECURE === 'auto' ? 'auto' : env.COOKIE_SECURE === 'true',
    trustProxy: env.TRUST_PROXY,
    rateLimits: { register: env.RATE_LIMIT_REGISTER, token: env.RATE_LIMIT_TOKEN, authorize: env.RATE_LIMIT_AUTHORIZE, googleCallback: env.RATE_LIMIT_GOOGLE_CALLBACK, revoke: env.RATE_LIMIT_REVOKE, introspect: env.RATE_LIMIT_INTROSPECT },
    logLevel: env.LOG_LEVEL,
    audit: { s3: env.AUDIT_S3 === 'true', prefix: env.AUDIT_S3_PREFIX },
    shutdownDelayMs: env.SHUTDOWN_DELAY_MS,
    shutdownDrainMs: env.SHUTDOWN_DRAIN_MS,
    requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
    sendTimeoutMs: env.HTTP_SEND_TIMEOUT_MS,
    oauth: {
      prefix: env.OAUTH_PREFIX,
      dynamicRegistration: env.OAUTH_DYNAMIC_REGISTRATION === 'true',
      staticClients: env.OAUTH_STATIC_CLIENTS,
      refreshTokenTtlSeconds: env.OAUTH_REFRESH_TOKEN_TTL_SECONDS,
      refreshReuseGraceSeconds: env.OAUTH_REFRESH_REUSE_GRACE_SECONDS,
      unusedClientTtlDays: env.OAUTH_UNUSED_CLIENT_TTL_DAYS,
      registrationToken: env.OAUTH_REGISTRATION_TOKEN,
      sealKey: sealKeyOf(keyMaterial),
      acceptedSealKeys: acceptedMaterial.map(sealKeyOf),
    },
    cimd: { enabled: env.OAUTH_CLIENT_METADATA_DOCUMENTS === 'true', allowPrivateHosts: env.OAUTH_CIMD_ALLOW_PRIVATE_HOSTS === 'true', extraCa: env.OAUTH_CIMD_EXTRA_CA?.replace(/\\n/g, '\n'), allowedHosts: env.OAUTH_CIMD_ALLOWED_HOSTS, sharedHosts: env.OAUTH_CIMD_SHARED_HOSTS },
    mcp: { tools: env.MCP_TOOLS.split(',').map((t) => t.trim()), readOnly: env.MCP_READ_ONLY === 'true' },
    corsOrigins: env.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
  };
}
