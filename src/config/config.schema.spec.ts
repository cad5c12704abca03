import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, parseConfig } from './config.schema.js';

const valid = {
  GOOGLE_CLIENT_ID: 'id',
  GOOGLE_CLIENT_SECRET: 'secret',
  S3_BUCKET: 'bucket',
  JWT_SECRET: 'x'.repeat(32),
};

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const sut = parseConfig(valid);
    expect(sut.port).toBe(3000);
    expect(sut.publicUrl).toBe('http://localhost:3000');
    expect(sut.s3).toMatchObject({ credentialsPrefix: 'credentials/', sessionPrefix: 'sessions/', region: 'us-east-1', sse: 'AES256', forcePathStyle: false, latencyWarnMs: 500 });
    expect(sut.jwt).toMatchObject({ algorithm: 'HS256', issuer: 'http://localhost:3000', audience: 'workspace-api', ttlSeconds: 3600 });
    expect(sut.sessions.cacheTtlMs).toBe(5000);
    expect(sut.google.clientCacheTtlMs).toBe(1800000);
    expect(sut.google.scopes).toEqual(expect.arrayContaining(['openid', 'email', 'profile', 'https://www.googleapis.com/auth/calendar.readonly']));
  });

  it.each([
    [{ ...valid, S3_BUCKET: undefined }, 'S3_BUCKET'],
    [{ ...valid, JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ ...valid, JWT_SECRET: undefined }, 'JWT_SECRET'],
    [{ ...valid, S3_SSE: 'aws:kms' }, 'S3_SSE_KMS_KEY_ID'],
    [{ ...valid, S3_SSE: 'none' }, 'S3_SSE'],
    [{ ...valid, PORT: 'eighty' }, 'PORT'],
    [{ ...valid, S3_ENDPOINT: 'not a url' }, 'S3_ENDPOINT'],
    [{ ...valid, S3_PREFIX: 'creds' }, 'S3_PREFIX'],
  ])('names the bad variable (%#)', (env, name) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(new RegExp(name));
  });

  it('names every missing variable in one message, JWT_SECRET included, so an empty environment is fixed in one go', () => {
    // A newcomer's first `npm start` with nothing set: the message must list all four, not three and then one more.
    expect(() => parseConfig({})).toThrow(ConfigError);
    let message = '';
    try {
      parseConfig({});
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET', 'S3_BUCKET', 'JWT_SECRET']) expect(message).toContain(name);
    // The cross-variable rules too: with another variable bad, a half-set pair is still named.
    expect(() => parseConfig({ ...valid, PORT: 'eighty', S3_SSE: 'aws:kms' })).toThrow(/PORT[\s\S]*S3_SSE_KMS_KEY_ID/);
    expect(() => parseConfig({ ...valid, S3_BUCKET: undefined, AWS_ACCESS_KEY_ID: 'AKIA' })).toThrow(/S3_BUCKET[\s\S]*AWS_SECRET_ACCESS_KEY/);
  });
});

describe('JWT_PRIVATE_KEY', () => {
  const base = { ...valid, JWT_SECRET: undefined };
  const pem = (type: 'ec' | 'rsa', options: object) =>
    generateKeyPairSync(type as 'ec', options as { namedCurve: string }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  it('takes an EC P-256 key in PEM, also with its newlines written as \\n (one-line environment files)', () => {
    const key = pem('ec', { namedCurve: 'P-256' });
    expect(parseConfig({ ...base, JWT_PRIVATE_KEY: key }).jwt.algorithm).toBe('ES256');
    expect(parseConfig({ ...base, JWT_PRIVATE_KEY: key.replace(/\n/g, '\\n') }).jwt.algorithm).toBe('ES256');
  });

  it.each([
    ['not a key', 'garbage-that-is-not-a-pem'],
    ['an RSA key', pem('rsa', { modulusLength: 2048 })],
    ['a P-384 key', pem('ec', { namedCurve: 'P-384' })],
  ])('refuses %s at boot, naming the variable and how to make a right one, never echoing the value', (_what, value) => {
    // Before, garbage stopped the boot with "error:1E08010C:DECODER routines::unsupported" (no variable named), and an
    // RSA or P-384 key booted, then failed every sign-in with a 500 when the first token was signed.
    let message = '';
    try {
      parseConfig({ ...base, JWT_PRIVATE_KEY: value });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/JWT_PRIVATE_KEY must be an EC P-256 private key \(ES256\) in PEM/);
    expect(message).toContain('openssl ecparam -name prime256v1 -genkey -noout');
    expect(message).not.toContain(value.slice(0, 40).includes('PRIVATE') ? value.split('\n')[1] : value);
  });
});

describe('URL settings', () => {
  it.each([
    ['PUBLIC_URL', 'broker.example.com'],
    ['S3_ENDPOINT', 'localhost:9000'],
    ['S3_ENDPOINT', 'ftp://s3.example.com'],
    ['GOOGLE_TOKEN_URL', '/token'],
  ])('%s=%s is refused saying what a right value looks like (was: "Invalid URL")', (name, value) => {
    expect(() => parseConfig({ ...valid, [name]: value })).toThrow(new RegExp(`${name} must be an absolute http\\(s\\) URL with a scheme, like https://`));
  });
});

describe('number settings', () => {
  it.each([
    ['PORT', 'eighty', /PORT must be a whole number \(default 3000\)/],
    ['PORT', '3000.5', /PORT must be a whole number \(default 3000\)/],
    ['S3_TIMEOUT_MS', '5s', /S3_TIMEOUT_MS must be a whole number \(default 5000\)/],
    ['S3_TIMEOUT_MS', '50', /S3_TIMEOUT_MS must be at least 100 \(default 5000\)/],
    ['SESSION_SWEEP_INTERVAL_MINUTES', '20000', /SESSION_SWEEP_INTERVAL_MINUTES must be at most 10080 \(default 360\)/],
    ['WORKSPACE_CALLS_PER_USER', '0', /WORKSPACE_CALLS_PER_USER must be at least 1 \(default 16\)/],
    ['WORKSPACE_CALLS_PER_USER', '-4', /WORKSPACE_CALLS_PER_USER must be at least 1 \(default 16\)/],
    ['WORKSPACE_CALLS_PER_USER', '2.5', /WORKSPACE_CALLS_PER_USER must be a whole number \(default 16\)/],
    ['WORKSPACE_CALLS_PER_USER', 'many', /WORKSPACE_CALLS_PER_USER must be a whole number \(default 16\)/],
    ['WORKSPACE_CALLS_QUEUED_PER_USER', '-1', /WORKSPACE_CALLS_QUEUED_PER_USER must be at least 0 \(default 256\)/],
  ])('%s=%s is refused in words a newcomer can act on', (name, value, message) => {
    expect(() => parseConfig({ ...valid, [name]: value })).toThrow(message);
  });

  it('WORKSPACE_CALLS_PER_USER: 16 by default, above the 10 calls per user of issue 14\'s refresh storm; any whole number from 1', () => {
    expect(parseConfig(valid).workspace.callsPerUser).toBe(16);
    expect(parseConfig(valid).workspace.callsPerUser).toBeGreaterThan(10);
    expect(parseConfig({ ...valid, WORKSPACE_CALLS_PER_USER: '1' }).workspace.callsPerUser).toBe(1);
    expect(parseConfig({ ...valid, WORKSPACE_CALLS_PER_USER: '200' }).workspace.callsPerUser).toBe(200);
  });

  it('WORKSPACE_CALLS_QUEUED_PER_USER: 256 by default (a burst waits); 0 refuses every call beyond the limit at once', () => {
    expect(parseConfig(valid).workspace.callsQueuedPerUser).toBe(256);
    expect(parseConfig({ ...valid, WORKSPACE_CALLS_QUEUED_PER_USER: '0' }).workspace.callsQueuedPerUser).toBe(0);
  });
});

describe('PUBLIC_URL', () => {
  it.each([
    ['https://Broker.Example.com', 'https://broker.example.com'],
    ['https://broker.example.com:443', 'https://broker.example.com'],
    ['HTTPS://BROKER.example.com:443/', 'https://broker.example.com'],
    ['http://broker.example.com:80//', 'http://broker.example.com'],
    ['https://Broker.Example.com:8443/Workspace/Broker/', 'https://broker.example.com:8443/Workspace/Broker'],
    ['https://broker.example.com/a/../base', 'https://broker.example.com/base'],
  ])('%s is used as %s, the form new URL() gives (clients send resources back in it)', (given, canonical) => {
    const sut = parseConfig({ ...valid, PUBLIC_URL: given });
    expect(sut.publicUrl).toBe(canonical);
    expect(sut.jwt.issuer).toBe(canonical);
    // Every resource identifier is PUBLIC_URL + a path: the MCP SDK's new URL() leaves it as it is.
    expect(new URL(`${sut.publicUrl}/mcp`).href).toBe(`${canonical}/mcp`);
  });

  it.each(['https://broker.example.com', 'http://localhost:3000', 'https://broker.example.com:8443/base'])('an already canonical %s is kept exactly', (given) => {
    expect(parseConfig({ ...valid, PUBLIC_URL: given }).publicUrl).toBe(given);
  });

  it('defaults to http://localhost:${PORT} (DESIGN.md)', () => {
    expect(parseConfig({ ...valid, PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
  });

  it.each([
    ['https://broker.example.com/?tenant=a', /PUBLIC_URL must be a base URL without a query or fragment/],
    ['https://broker.example.com/#top', /PUBLIC_URL must be a base URL without a query or fragment/],
    ['https://user:pw@broker.example.com', /PUBLIC_URL must not contain credentials/],
    ['not a url', /PUBLIC_URL/],
    ['ftp://broker.example.com', /PUBLIC_URL/],
  ])('refuses %s, naming PUBLIC_URL', (given, message) => {
    expect(() => parseConfig({ ...valid, PUBLIC_URL: given })).toThrow(ConfigError);
    expect(() => parseConfig({ ...valid, PUBLIC_URL: given })).toThrow(message);
  });
});

describe('METRICS_PORT', () => {
  it('defaults to 9464, a port of its own; 0 picks a free one', () => {
    expect(parseConfig(valid).metricsPort).toBe(9464);
    expect(parseConfig({ ...valid, METRICS_PORT: '0' }).metricsPort).toBe(0);
  });

  it('is refused when it is the public PORT, or not a port', () => {
    expect(() => parseConfig({ ...valid, PORT: '8080', METRICS_PORT: '8080' })).toThrow(/METRICS_PORT must differ from PORT/);
    expect(() => parseConfig({ ...valid, METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
  });
});

describe('JWT_ACCEPTED_SECRETS and JWT_ACCEPTED_PUBLIC_KEYS (signing-key rotation)', () => {
  const OLD = 'o'.repeat(40);
  const NEW = 'n'.repeat(40);
  const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = (k: ReturnType<typeof ec>) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const spki = (k: ReturnType<typeof ec>) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  /** The boot message for an environment, or '' when it boots. */
  const problem = (env: Record<string, string | undefined>) => {
    try {
      parseConfig(env);
      return '';
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
  };

  it('none by default: only the signing key is known, nothing more is derived', () => {
    const sut = parseConfig(valid);
    expect(sut.jwt).toMatchObject({ acceptedSecrets: [], acceptedPublicKeys: [], acceptedFlowCookieKeys: [] });
    expect(sut.oauth.acceptedSealKeys).toEqual([]);
  });

  it('HS256: comma separated secrets, kept exactly; each derives the flow cookie and seal keys a replica signing with it uses', () => {
    const sut = parseConfig({ ...valid, JWT_SECRET: NEW, JWT_ACCEPTED_SECRETS: `${OLD},${NEW}` });
    expect(sut.jwt.acceptedSecrets).toEqual([OLD]); // the signing key listed too is not "another" key
    const signingWithOld = parseConfig({ ...valid, JWT_SECRET: OLD });
    expect(sut.jwt.acceptedFlowCookieKeys).toEqual([signingWithOld.jwt.flowCookieKey]);
    expect(sut.oauth.acceptedSealKeys).toEqual([signingWithOld.oauth.sealKey]);
    // Sealing stays with the signing key's own.
    expect(sut.jwt.flowCookieKey).toEqual(parseConfig({ ...valid, JWT_SECRET: NEW }).jwt.flowCookieKey);
  });

  it.each([
    ['a secret shorter than 32 bytes', `${OLD},short`, /JWT_ACCEPTED_SECRETS entry 2 of 2 must be at least 32 bytes/],
    ['a PEM key', pkcs8(ec()), /JWT_ACCEPTED_SECRETS entry 1 of 1 is a PEM key, not an HS256 secret/],
    ['only commas', ',,', /JWT_ACCEPTED_SECRETS lists no secret/],
  ])('HS256: refuses %s at boot without echoing it', (_what, value, message) => {
    const text = problem({ ...valid, JWT_ACCEPTED_SECRETS: value });
    expect(text).toMatch(message);
    expect(text).not.toContain('short');
    expect(text).not.toContain('MIG');
  });

  it('refuses keys of the other algorithm: ES256 keys with JWT_SECRET, HS256 secrets with JWT_PRIVATE_KEY', () => {
    expect(problem({ ...valid, JWT_ACCEPTED_PUBLIC_KEYS: spki(ec()) })).toMatch(/JWT_ACCEPTED_PUBLIC_KEYS holds ES256 keys, but bearer tokens here are HS256 \(JWT_SECRET\)/);
    expect(problem({ ...valid, JWT_SECRET: undefined, JWT_PRIVATE_KEY: pkcs8(ec()), JWT_ACCEPTED_SECRETS: OLD })).toMatch(
      /JWT_ACCEPTED_SECRETS holds HS256 secrets, but bearer tokens here are ES256 \(JWT_PRIVATE_KEY\)/,
    );
  });

  describe('ES256', () => {
    const signing = ec();
    const base = { ...valid, JWT_SECRET: undefined, JWT_PRIVATE_KEY: pkcs8(signing) };

    it('takes PEM public keys, one after the other, also with newlines written as \\n', () => {
      const [k1, k2] = [ec(), ec()];
      const sut = parseConfig({ ...base, JWT_ACCEPTED_PUBLIC_KEYS: `${spki(k1)}${spki(k2)}`.replace(/\n/g, '\\n') });
      expect(sut.jwt.acceptedPublicKeys).toEqual([spki(k1), spki(k2)]);
      // A public key derives nothing: it is public.
      expect(sut.jwt.acceptedFlowCookieKeys).toEqual([]);
      expect(sut.oauth.acceptedSealKeys).toEqual([]);
      // The signing key listed too (phase 1's list kept in phase 2) is not another key.
      expect(parseConfig({ ...base, JWT_ACCEPTED_PUBLIC_KEYS: `${spki(signing)}${spki(k1)}` }).jwt.acceptedPublicKeys).toEqual([spki(k1)]);
    });

    it('takes a private key too: its public part verifies, and what a replica signing with it sealed opens, however its PEM was written', () => {
      const other = ec();
      const sut = parseConfig({ ...base, JWT_ACCEPTED_PUBLIC_KEYS: pkcs8(other) });
      expect(sut.jwt.acceptedPublicKeys).toEqual([spki(other)]);
      for (const written of [pkcs8(other), pkcs8(other).replace(/\n/g, '\\n'), pkcs8(other).trimEnd()]) {
        const signer = parseConfig({ ...base, JWT_PRIVATE_KEY: written });
        expect(sut.jwt.acceptedFlowCookieKeys).toContainEqual(signer.jwt.flowCookieKey);
        expect(sut.oauth.acceptedSealKeys).toContainEqual(signer.oauth.sealKey);
      }
    });

    it.each([
      ['not a PEM', 'garbage', /JWT_ACCEPTED_PUBLIC_KEYS must be one or more EC P-256 keys in PEM/],
      ['a PEM block that is no key', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', /JWT_ACCEPTED_PUBLIC_KEYS key 1 of 1 does not read as an unencrypted PEM public \(or private\) key/],
      ['an RSA key', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString(), /key 1 of 1 must be an EC P-256 key \(ES256\), this one is of type rsa/],
      ['a P-384 key', generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(), /must be an EC P-256 key \(ES256\), this one is of type ec \(curve secp384r1\)/],
    ])('refuses %s at boot, naming the variable', (_what, value, message) => {
      expect(problem({ ...base, JWT_ACCEPTED_PUBLIC_KEYS: value })).toMatch(message);
    });
  });
});

describe('OAUTH_CIMD_ALLOWED_HOSTS and OAUTH_CIMD_SHARED_HOSTS', () => {
  it('default to no list (any host accepted, only the built-in shared hosts)', () => {
    expect(parseConfig(valid).cimd).toMatchObject({ allowedHosts: [], sharedHosts: [] });
  });

  it('take a comma list of exact hosts and *.domain entries, spaces and case as an operator writes them', () => {
    expect(parseConfig({ ...valid, OAUTH_CIMD_ALLOWED_HOSTS: ' claude.ai, ChatGPT.com,*.Corp.Example , ' }).cimd.allowedHosts).toEqual([
      { host: 'claude.ai', subdomains: false },
      { host: 'chatgpt.com', subdomains: false },
      { host: 'corp.example', subdomains: true },
    ]);
  });

  it.each([',', ' , ', ',,'])('stop the boot on a value that names no host, which would otherwise accept any host: %j', (value) => {
    expect(() => parseConfig({ ...valid, OAUTH_CIMD_ALLOWED_HOSTS: value })).toThrow(/OAUTH_CIMD_ALLOWED_HOSTS names no host/);
    expect(() => parseConfig({ ...valid, OAUTH_CIMD_SHARED_HOSTS: value })).toThrow(/OAUTH_CIMD_SHARED_HOSTS names no host/);
  });

  it.each([
    ['https://claude.ai', /OAUTH_CIMD_ALLOWED_HOSTS must be a comma list of host names[^;]*; "https:\/\/claude.ai" is a URL, port or path/],
    ['claude.ai:443', /"claude.ai:443" is a URL, port or path/],
    ['claude.ai/oauth', /"claude.ai\/oauth" is a URL, port or path/],
    ['*', /"\*" is a lone \* \(leave the setting empty to accept any host\)/],
    ['*.com', /"\*.com" is a wildcard over a whole top-level domain/],
    ['claude.ai, *.*.example.com', /"\*.\*.example.com" is not a host name/],
    ['bücher.example', /"bücher.example" is not a host name \([^)]*xn-- form/],
    ['-bad.example', /"-bad.example" is not a host name/],
    ['claude .ai', /"claude .ai" is not a host name/],
    ['claude\uff0eai', /is not a host name/], // a full-width dot, which the URL parser reads as a dot
    ['claude.ai.', /"claude.ai." is not a host name/],
    ['claude.ai, *', /"\*" is a lone \*/],
    ['*.claude.ai:443', /is a URL, port or path/],
    ['user@claude.ai', /is a URL, port or path/],
  ])('stop the boot on a bad entry, naming it: %s', (value, message) => {
    expect(() => parseConfig({ ...valid, OAUTH_CIMD_ALLOWED_HOSTS: value })).toThrow(message);
    expect(() => parseConfig({ ...valid, OAUTH_CIMD_SHARED_HOSTS: value })).toThrow(/OAUTH_CIMD_SHARED_HOSTS must be a comma list/);
  });

  it.each([
    // ICANN suffixes, where anyone registers a domain, and the private section's platforms, where anyone gets a name.
    ['*.co.uk', 'co.uk', '*.example.co.uk'],
    ['claude.ai, *.com.au', 'com.au', '*.example.com.au'],
    ['*.GitHub.io', 'github.io', '*.example.github.io'],
    ['*.vercel.app', 'vercel.app', '*.example.vercel.app'],
    ['*.herokuapp.com', 'herokuapp.com', '*.example.herokuapp.com'],
    ['*.s3.amazonaws.com', 's3.amazonaws.com', '*.example.s3.amazonaws.com'],
    ['*.kawasaki.jp', 'kawasaki.jp', '*.example.kawasaki.jp'],
    ['*.x.kawasaki.jp', 'x.kawasaki.jp', '*.example.x.kawasaki.jp'], // a suffix by the PSL's wildcard rule *.kawasaki.jp
  ])('OAUTH_CIMD_ALLOWED_HOSTS stops the boot on a wildcard over a public suffix, which would admit anyone\'s documents there: %s', (value, suffix, instead) => {
    const entry = value.split(',').pop()!.trim().toLowerCase();
    let thrown = '';
    try {
      parseConfig({ ...valid, OAUTH_CIMD_ALLOWED_HOSTS: value });
    } catch (err) {
      thrown = (err as Error).message;
    }
    expect(thrown).toContain(`OAUTH_CIMD_ALLOWED_HOSTS must be a comma list of host names`);
    expect(thrown).toContain(`"${entry}" is a wildcard over ${suffix}, a public suffix`);
    expect(thrown).toContain(`like ${instead}, or the exact host`);
  });

  it('OAUTH_CIMD_SHARED_HOSTS takes a wildcard over a public suffix: there it says that every name below is a tenant', () => {
    expect(parseConfig({ ...valid, OAUTH_CIMD_SHARED_HOSTS: '*.co.uk, *.github.io, *.vercel.app, *.kawasaki.jp' }).cimd.sharedHosts).toEqual(
      ['co.uk', 'github.io', 'vercel.app', 'kawasaki.jp'].map((host) => ({ host, subdomains: true })),
    );
  });

  it('both take a domain below a public suffix, and a public suffix as an exact host (that one host only)', () => {
    const value = '*.example.co.uk, *.someone.github.io, *.corp.internal, *.www.ck, *.city.kawasaki.jp, co.uk, github.io, app.vercel.app';
    const expected = [
      { host: 'example.co.uk', subdomains: true },
      { host: 'someone.github.io', subdomains: true },
      { host: 'corp.internal', subdomains: true }, // a name the PSL does not know: its last label is the suffix
      { host: 'www.ck', subdomains: true }, // exceptions to the PSL's wildcard rules (*.ck, *.kawasaki.jp): registrable
      { host: 'city.kawasaki.jp', subdomains: true },
      { host: 'co.uk', subdomains: false },
      { host: 'github.io', subdomains: false },
      { host: 'app.vercel.app', subdomains: false },
    ];
    expect(parseConfig({ ...valid, OAUTH_CIMD_ALLOWED_HOSTS: value }).cimd.allowedHosts).toEqual(expected);
    expect(parseConfig({ ...valid, OAUTH_CIMD_SHARED_HOSTS: value }).cimd.sharedHosts).toEqual(expected);
  });
});
