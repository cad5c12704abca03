import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlockList } from 'node:net';
import { parseAllDocuments } from 'yaml';
import { envSchema } from '../../src/config/config.schema.js';
import { deploymentRuntimeEnv, imageRuntimeEnv, productionRuntimeEnv } from '../../bench/image-runtime.js';

/** Every manifest and the compose file parse, and agree with the code: probe paths, ports, variable names. */
const ROOT = join(import.meta.dirname, '../..');
const CONTROLLER_SOURCES = ['src/health/health.controller.ts'].map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
const KNOWN_ENV = new Set([...Object.keys(envSchema.shape), 'NODE_ENV', 'NODE_OPTIONS', 'MALLOC_ARENA_MAX']);

function documents(file: string): Array<Record<string, any>> {
  return parseAllDocuments(readFileSync(join(ROOT, file), 'utf8')).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJSON() as Record<string, any>;
  });
}

describe('deployment files', () => {
  const manifests = readdirSync(join(ROOT, 'deploy/kubernetes')).filter((f) => f.endsWith('.yaml')).map((f) => `deploy/kubernetes/${f}`);

  it('parse as YAML, and kustomization lists every manifest', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(5);
    const docs = manifests.flatMap((f) => documents(f));
    expect(docs.every((d) => typeof d.kind === 'string' && typeof d.apiVersion === 'string')).toBe(true);
    const kustomization = documents('deploy/kubernetes/kustomization.yaml')[0];
    expect([...kustomization.resources, 'kustomization.yaml'].sort()).toEqual(manifests.map((m) => m.split('/').pop()).sort());
  });

  it('the Deployment runs 2 replicas with probes on the real health routes, a named port that exists, and known variables', () => {
    const deployment = documents('deploy/kubernetes/deployment.yaml')[0];
    expect(deployment.kind).toBe('Deployment');
    expect(deployment.spec.replicas).toBe(2);
    const [container] = deployment.spec.template.spec.containers;
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(CONTROLLER_SOURCES).toMatch(/@Controller\('health'\)/);
    expect(CONTROLLER_SOURCES).toMatch(/@Get\('ready'\)/);
    expect(CONTROLLER_SOURCES).toMatch(/@Get\('live'\)/);
    const port = container.ports.find((p: { name: string }) => p.name === container.readinessProbe.httpGet.port);
    const portEnv = container.env.find((e: { name: string }) => e.name === 'PORT');
    expect(port.containerPort).toBe(Number(portEnv.value));
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    for (const e of container.env) expect(KNOWN_ENV).toContain(e.name);
    const service = documents('deploy/kubernetes/service.yaml')[0];
    expect(service.spec.ports[0].targetPort).toBe(port.name);
    const account = documents('deploy/kubernetes/serviceaccount.yaml')[0];
    expect(deployment.spec.template.spec.serviceAccountName).toBe(account.metadata.name);
    expect(account.metadata.annotations['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::/);
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });

  it('the NetworkPolicy lets the pods reach DNS and public addresses on 443 only: not the metadata endpoint, the cluster or the VPC', () => {
    const deployment = documents('deploy/kubernetes/deployment.yaml')[0];
    const policy = documents('deploy/kubernetes/networkpolicy.yaml')[0];
    expect(policy.kind).toBe('NetworkPolicy');
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    expect(policy.spec.policyTypes).toEqual(expect.arrayContaining(['Ingress', 'Egress']));
    const containerPorts = deployment.spec.template.spec.containers[0].ports.map((p: { containerPort: number }) => p.containerPort).sort();
    expect(policy.spec.ingress.flatMap((r: { ports: Array<{ port: number }> }) => r.ports.map((p) => p.port)).sort()).toEqual(containerPorts);
    /** Whether some egress rule lets a pod open `port` to `address` (NetworkPolicy's semantics: any rule, any peer). */
    const egressAllows = (address: string, port: number, protocol = 'TCP') =>
      policy.spec.egress.some((rule: { ports?: Array<{ port: number; protocol: string }>; to?: Array<{ ipBlock: { cidr: string; except?: string[] } }> }) => {
        if (rule.ports && !rule.ports.some((p) => p.port === port && p.protocol === protocol)) return false;
        if (!rule.to) return true;
        return rule.to.some(({ ipBlock }) => {
          const family = address.includes(':') ? 'ipv6' : 'ipv4';
          const within = (cidr: string) => {
            const [net, bits] = cidr.split('/');
            if (net.includes(':') !== (family === 'ipv6')) return false;
            const list = new BlockList();
            list.addSubnet(net, Number(bits), family);
            return list.check(address, family);
          };
          return within(ipBlock.cidr) && !(ipBlock.except ?? []).some(within);
        });
      });
    expect(egressAllows('10.96.0.10', 53, 'UDP')).toBe(true); // kube-dns
    expect(egressAllows('142.250.74.10', 443)).toBe(true); // Google
    expect(egressAllows('52.218.1.1', 443)).toBe(true); // S3
    expect(egressAllows('2a00:1450:4001::64', 443)).toBe(true);
    for (const inside of ['169.254.169.254', '10.0.0.1', '172.16.5.5', '192.168.1.1', '100.64.0.1', '127.0.0.1', 'fd00:ec2::254', 'fe80::1', '::1']) {
      expect([inside, egressAllows(inside, 443)]).toEqual([inside, false]);
    }
    expect(egressAllows('142.250.74.10', 80)).toBe(false);
    expect(egressAllows('169.254.169.254', 80)).toBe(false);
  });

  it('Prometheus scrapes the metrics port of the pod, which neither the Service nor compose exposes beyond the pod or host', () => {
    const deployment = documents('deploy/kubernetes/deployment.yaml')[0];
    const [container] = deployment.spec.template.spec.containers;
    const metricsEnv = container.env.find((e: { name: string }) => e.name === 'METRICS_PORT');
    const metricsPort = container.ports.find((p: { name: string }) => p.name === 'metrics');
    expect(metricsPort.containerPort).toBe(Number(metricsEnv.value));
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(metricsEnv.value);
    expect(deployment.spec.template.metadata.annotations['prometheus.io/path']).toBe('/metrics');
    const service = documents('deploy/kubernetes/service.yaml')[0];
    for (const p of service.spec.ports) expect([p.targetPort, p.port]).not.toContain('metrics');
    for (const p of service.spec.ports) expect([p.targetPort, p.port]).not.toContain(metricsPort.containerPort);
    const broker = documents('docker-compose.yml')[0].services.broker;
    const published = (broker.ports as string[]).filter((p) => p.endsWith(':9464'));
    expect(published).toEqual(['127.0.0.1:9464:9464']);
  });

  it('applies no Secret of its own: the README creates it, so `kubectl apply -k` neither ships a known JWT_SECRET nor overwrites the real one', () => {
    // A Secret in the kustomization holds placeholder values: unedited, the service booted with a JWT_SECRET anyone
    // can read here (long enough to pass the config check); edited in place, real keys end up in git; created from a
    // secret store as its comment asked, every later `kubectl apply -k` replaced them with the placeholders again.
    const docs = manifests.flatMap((f) => documents(f));
    expect(docs.filter((d) => d.kind === 'Secret').map((d) => d.metadata?.name)).toEqual([]);
    const kustomization = documents('deploy/kubernetes/kustomization.yaml')[0];
    expect(kustomization.secretGenerator).toBeUndefined();
    // The README's command creates the Secret the Deployment reads, with every variable the service requires.
    const [container] = documents('deploy/kubernetes/deployment.yaml')[0].spec.template.spec.containers;
    const name = container.envFrom[0].secretRef.name;
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    // The command runs from its first line to the first line that does not end in a backslash.
    const lines = readme.slice(readme.indexOf(`kubectl create secret generic ${name} `)).split('\n');
    const command = lines.slice(0, lines.findIndex((l) => !l.endsWith('\\')) + 1).join('\n');
    const keys = [...command.matchAll(/--from-literal=([A-Z_]+)=/g)].map((m) => m[1]);
    expect(keys.sort()).toEqual(['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET', 'JWT_SECRET']);
    for (const key of keys) expect(KNOWN_ENV).toContain(key);
    expect(readme.indexOf(`kubectl create secret generic ${name}`)).toBeLessThan(readme.indexOf('kubectl apply -k deploy/kubernetes'));
  });

  it("the README's Deployment example agrees with deploy/kubernetes: probes, port, secret and a grace period that outlasts the shutdown", () => {
    // A deployer copying the README's example got Kubernetes' default grace period (30 s), under the shutdown's 70 s.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Kubernetes: several replicas'));
    const example = parseAllDocuments(/```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '')[0].toJSON() as Record<string, any>;
    const manifest = documents('deploy/kubernetes/deployment.yaml')[0];
    expect(example.kind).toBe('Deployment');
    const pod = example.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(manifest.spec.template.spec.terminationGracePeriodSeconds);
    const [container] = pod.containers;
    const [real] = manifest.spec.template.spec.containers;
    expect(container.readinessProbe.httpGet.path).toBe(real.readinessProbe.httpGet.path);
    expect(container.livenessProbe.httpGet.path).toBe(real.livenessProbe.httpGet.path);
    expect(container.envFrom[0].secretRef.name).toBe(real.envFrom[0].secretRef.name);
    expect(container.resources.limits.memory).toBe(real.resources.limits.memory);
    for (const e of container.env) expect(KNOWN_ENV).toContain(e.name);
  });

  it('the grace period outlasts the whole shutdown (readiness delay, bounded drain, the last S3 writes) in the Deployment and compose', () => {
    // Past the grace period comes SIGKILL: a refreshed Google token not yet in S3 would be lost with the process.
    const defaults = envSchema.parse({ GOOGLE_CLIENT_ID: 'x', GOOGLE_CLIENT_SECRET: 'x', JWT_SECRET: 'x'.repeat(32), S3_BUCKET: 'bucket' }) as Record<string, unknown>;
    const deployment = documents('deploy/kubernetes/deployment.yaml')[0];
    const [container] = deployment.spec.template.spec.containers;
    const setting = (env: Record<string, string>, name: string) => Number(env[name] ?? defaults[name]);
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    // The first write of an unwritten token runs alongside readiness' delay; the last phase is up to 7 S3 calls and
    // one Google call (a refresh under way when the drain was cut).
    const shutdownMs = (e: Record<string, string>) => {
      const s3 = setting(e, 'S3_TIMEOUT_MS');
      return Math.max(setting(e, 'SHUTDOWN_DELAY_MS'), 2 * s3) + setting(e, 'SHUTDOWN_DRAIN_MS') + 7 * s3 + setting(e, 'GOOGLE_HTTP_TIMEOUT_MS');
    };
    expect(setting(env, 'SHUTDOWN_DRAIN_MS')).toBeGreaterThan(0);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs(env));
    const [compose] = documents('docker-compose.yml');
    const grace = String(compose.services.broker.stop_grace_period).match(/^(\d+)s$/);
    expect(Number(grace?.[1]) * 1000).toBeGreaterThan(shutdownMs(compose.services.broker.environment));
  });

  it('docker-compose runs the service on SeaweedFS with SSE-S3 and least-privilege keys, and creates the bucket the service uses', () => {
    const [compose] = documents('docker-compose.yml');
    const { broker, seaweedfs } = compose.services;
    const create = compose.services['create-bucket'];
    const bucket = broker.environment.S3_BUCKET;
    // SSE-S3 in SeaweedFS needs a 256-bit key encryption key, hex encoded.
    expect(seaweedfs.environment.WEED_S3_SSE_KEY).toMatch(/^\$\{WEED_S3_SSE_KEY:-[0-9a-f]{64}\}$/);
    expect(seaweedfs.command).toMatch(/-s3\b/);
    expect(seaweedfs.command).toContain('-s3.config=/etc/seaweedfs/s3.json');
    const mount = seaweedfs.volumes.find((v: string) => v.endsWith(':/etc/seaweedfs/s3.json:ro'));
    const identities = JSON.parse(readFileSync(join(ROOT, mount.split(':')[0]), 'utf8')).identities as Array<{ credentials: Array<{ accessKey: string; secretKey: string }>; actions: string[] }>;
    const brokerIdentity = identities.find((i) => i.credentials.some((c) => c.accessKey === broker.environment.AWS_ACCESS_KEY_ID));
    expect(brokerIdentity?.credentials[0].secretKey).toBe(broker.environment.AWS_SECRET_ACCESS_KEY);
    // The broker's key can read, write and list its bucket and nothing else (no Admin: it cannot delete the bucket).
    expect(brokerIdentity?.actions.sort()).toEqual([`List:${bucket}`, `Read:${bucket}`, `Write:${bucket}`]);
    const adminIdentity = identities.find((i) => i.credentials.some((c) => c.accessKey === create.environment.AWS_ACCESS_KEY_ID));
    expect(adminIdentity?.actions).toContain('Admin');
    // The keys live in two files (SeaweedFS reads no environment in s3.json): changed in one only, the bucket is never created.
    expect(adminIdentity?.credentials.find((c) => c.accessKey === create.environment.AWS_ACCESS_KEY_ID)?.secretKey).toBe(create.environment.AWS_SECRET_ACCESS_KEY);
    expect(create.command.join(' ')).toContain(`create-bucket --bucket ${bucket}`);
    expect(create.depends_on.seaweedfs.condition).toBe('service_healthy');
    expect(broker.depends_on['create-bucket'].condition).toBe('service_completed_successfully');
    for (const name of Object.keys(broker.environment)) expect(KNOWN_ENV).toContain(name);
    // The README puts GOOGLE_CLIENT_SECRET and JWT_SECRET in a .env file at the repository's root: git must not pick it up.
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n').map((l) => l.trim())).toContain('.env');
    expect(broker.environment.S3_ENDPOINT).toBe('http://seaweedfs:8333');
    expect(broker.environment.S3_SSE).toBe('AES256');
    expect(broker.ports).toContain(`${broker.environment.PORT}:${broker.environment.PORT}`);
  });

  it('pins every image to a version (no latest, no bare major) and runs a supported Node LTS', () => {
    const [compose] = documents('docker-compose.yml');
    const images = Object.values(compose.services as Record<string, { image?: string }>).flatMap((s) => (s.image ? [s.image] : []));
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    const deployment = documents('deploy/kubernetes/deployment.yaml')[0];
    const podImages = deployment.spec.template.spec.containers.map((c: { image: string }) => c.image);
    for (const image of [...images, ...bases, ...podImages]) {
      const tag = image.includes('@sha256:') ? 'digest' : image.split(':').pop();
      expect(`${image} -> ${tag}`).toMatch(/-> (digest|v?\d+\.\d+(\.\d+)?[\w.-]*)$/);
    }
    // Node 20 left support on 2026-04-30; 22 and 24 are the LTS lines.
    for (const base of bases.filter((b) => b.startsWith('node:'))) expect(base).toMatch(/^node:(22|24)\.\d+\.\d+-/);
  });

  it('the Dockerfile builds in stages, runs as a non-root user and starts the bundled service (dist/main.bundle.mjs) with a health check', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main.bundle.mjs"\]$/m);
    // `npm run build` writes the bundle (scripts/build.mjs), and the build stage has the scripts it runs.
    expect(dockerfile).toMatch(/^RUN npm run build\b/m);
    expect(dockerfile).toMatch(/^COPY [^\n]*scripts\/build\.mjs[^\n]*scripts\/bundle-service\.mjs/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/health\/live/);
  });

  it('the runtime image is minimal: no npm or corepack, the code owned by root (read-only to the node user), and .dockerignore keeps secrets and local state out of the build context', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM ')).replace(/\\\n\s*/g, ' '); // continuation lines joined
    // The service runs `node dist/main.bundle.mjs`: npm, npx and corepack in the image are only code to patch and scan.
    expect(runtime).toMatch(/^RUN rm -rf [^\n]*\/usr\/local\/lib\/node_modules\/npm\b[^\n]*\/usr\/local\/lib\/node_modules\/corepack\b/m);
    for (const bin of ['npm', 'npx', 'corepack']) expect(runtime).toMatch(new RegExp(`^RUN rm -rf [^\\n]*/usr/local/bin/${bin}\\b`, 'm'));
    expect(runtime).not.toMatch(/^(RUN|CMD|ENTRYPOINT|HEALTHCHECK)[^\n]*\bnpm (run|start|exec|ci|install)\b/m);
    // What the process runs cannot be rewritten by it (compose has no read-only root filesystem).
    const copies = runtime.split('\n').filter((l) => /^COPY /.test(l));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy).not.toMatch(/--chown=node/);
    expect(runtime).toMatch(/^USER node$/m);
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    // .env holds the compose file's Google secret and JWT_SECRET; .local-data holds start:local's jwt-secret and data.
    for (const entry of ['.env', '.local-data', 'node_modules', '.git']) expect(ignored).toContain(entry);
  });

  it('the image runs with its memory settings, the Deployment and compose keep them, and the benchmark runs the service with them', () => {
    const image = imageRuntimeEnv(join(ROOT, 'Dockerfile'));
    expect(image).toEqual({ MALLOC_ARENA_MAX: '2' });
    // Environment set by a manifest replaces the image's: neither may set MALLOC_ARENA_MAX to something else.
    const [container] = documents('deploy/kubernetes/deployment.yaml')[0].spec.template.spec.containers;
    expect(container.env.some((e: { name: string }) => e.name === 'MALLOC_ARENA_MAX')).toBe(false);
    const [compose] = documents('docker-compose.yml');
    expect(compose.services.broker.environment.MALLOC_ARENA_MAX).toBeUndefined();
    // The bench's service processes take the image's settings from the Dockerfile and the Deployment's heap limit
    // from its manifest (bench/image-runtime.ts), so they run as a production replica does.
    expect(deploymentRuntimeEnv(join(ROOT, 'deploy/kubernetes/deployment.yaml'))).toEqual({ NODE_OPTIONS: container.env.find((e: { name: string }) => e.name === 'NODE_OPTIONS').value });
    expect(productionRuntimeEnv()).toEqual({ MALLOC_ARENA_MAX: '2', NODE_OPTIONS: expect.stringMatching(/^--max-old-space-size=\d+$/) });
    for (const file of ['bench/processes.ts', 'bench/seeded-processes.ts']) expect(readFileSync(join(ROOT, file), 'utf8')).toMatch(/\.\.\.productionRuntimeEnv\(\), \.\.\.serviceEnv\(/);
  });

  it('dependency updates are configured for the npm packages, the image and the compose file, and each held-back package is one we run below the bound', () => {
    const [config] = documents('.github/dependabot.yml');
    const byEcosystem = new Map((config.updates as Array<Record<string, any>>).map((u) => [u['package-ecosystem'], u]));
    expect([...byEcosystem.keys()].sort()).toEqual(['docker', 'docker-compose', 'npm']);
    expect(readdirSync(join(ROOT, byEcosystem.get('docker')!.directory))).toContain('Dockerfile');
    expect(readdirSync(join(ROOT, byEcosystem.get('docker-compose')!.directory))).toContain('docker-compose.yml');
    const npm = byEcosystem.get('npm')!;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    const declared = { ...pkg.dependencies, ...pkg.devDependencies };
    // A rule left behind after its reason went away would silently hold back updates, security fixes included.
    for (const rule of npm.ignore as Array<{ 'dependency-name': string; versions: string[] }>) {
      expect(declared).toHaveProperty([rule['dependency-name']]);
      const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules', rule['dependency-name'], 'package.json'), 'utf8')).version as string;
      const [bound] = rule.versions.map((v) => /^>=(\d+)\.(\d+)\.(\d+)$/.exec(v)).map((m) => m!.slice(1).map(Number));
      const [major, minor] = installed.split('.').map(Number);
      expect(major * 1000 + minor).toBeLessThan(bound[0] * 1000 + bound[1]);
    }
  });
});
