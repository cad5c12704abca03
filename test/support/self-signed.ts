import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A self-signed certificate for 127.0.0.1, or for each of `ips` (loopback addresses standing for several document
 * hosts); a test https server uses it, and the service trusts it through OAUTH_CIMD_EXTRA_CA.
 */
export function selfSigned(ips: string[] = ['127.0.0.1']): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cimd-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${ips[0]}`, '-addext', `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}`, '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
