import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { envSchema } from '../../src/config/config.schema.js';

/** Every manifest and the compose file parse, and agree with the code: probe paths, ports, variable names. */
const ROOT = join(import.meta.dirname, '../..');
const CONTROLLER_SOURCES = ['src/health/health.controller.ts'].map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
const KNOWN_ENV = new Set([...Object.keys(envSchema.shape), 'NODE_ENV']);

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
    const secret = documents('deploy/kubernetes/secret.yaml')[0];
    expect(container.envFrom[0].secretRef.name).toBe(secret.metadata.name);
    for (const name of Object.keys(secret.stringData)) expect(KNOWN_ENV).toContain(name);
    const service = documents('deploy/kubernetes/service.yaml')[0];
    expect(service.spec.ports[0].targetPort).toBe(port.name);
    const account = documents('deploy/kubernetes/serviceaccount.yaml')[0];
    expect(deployment.spec.template.spec.serviceAccountName).toBe(account.metadata.name);
    expect(account.metadata.annotations['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::/);
  });

  it('docker-compose runs the service on MinIO with SSE-S3 and creates the bucket the service uses', () => {
    const [compose] = documents('docker-compose.yml');
    const { broker, minio } = compose.services;
    const create = compose.services['create-bucket'];
    expect(minio.environment.MINIO_KMS_SECRET_KEY).toMatch(/^[\w-]+:[A-Za-z0-9+/=]{44}$/);
    expect(create.entrypoint).toContain(`mc mb --ignore-existing local/${broker.environment.S3_BUCKET}`);
    expect(create.entrypoint).toContain('mc encrypt set sse-s3');
    expect(broker.depends_on['create-bucket'].condition).toBe('service_completed_successfully');
    for (const name of Object.keys(broker.environment)) expect(KNOWN_ENV).toContain(name);
    expect(broker.environment.S3_ENDPOINT).toBe('http://minio:9000');
    expect(broker.ports).toContain(`${broker.environment.PORT}:${broker.environment.PORT}`);
  });

  it('the Dockerfile builds in stages, runs as a non-root user and starts dist/main.js with a health check', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main.js"\]$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/health\/live/);
  });
});
