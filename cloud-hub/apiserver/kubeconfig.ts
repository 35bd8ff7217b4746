/**
 * The data dir's credential and the kubeconfig that carries it. The bearer token is generated
 * once (32 random bytes, base64url, file mode 0600) and reused; the kubeconfig is rewritten
 * after every bind because the port may change (port 0), with the CA inlined so it works from
 * any working directory. kubectl and client-node 1.4.0 (which refuses plain http) both read it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

export const KUBECONFIG_NAMES = { cluster: 'edge-sync-embedded', user: 'edge-sync-admin', context: 'edge-sync-embedded' } as const;

export function tokenPath(dataDir: string): string {
  return path.join(dataDir, 'apiserver.token');
}

export function kubeconfigPath(dataDir: string): string {
  return path.join(dataDir, 'kubeconfig');
}

/** The admin bearer token of `dataDir`, created on first use. */
export function ensureToken(dataDir: string): string {
  const file = tokenPath(dataDir);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 32) return token;
  }
  const token = randomBytes(32).toString('base64url');
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${token}\n`, { mode: 0o600 });
  renameSync(temp, file);
  return token;
}

/** kubeconfig YAML for `server` (an https URL) trusting `caCertPem` and presenting `token`. */
export function renderKubeconfig(server: string, caCertPem: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: KUBECONFIG_NAMES.cluster, cluster: { server, 'certificate-authority-data': Buffer.from(caCertPem, 'utf8').toString('base64') } }],
    users: [{ name: KUBECONFIG_NAMES.user, user: { token } }],
    contexts: [{ name: KUBECONFIG_NAMES.context, context: { cluster: KUBECONFIG_NAMES.cluster, user: KUBECONFIG_NAMES.user, namespace: 'default' } }],
    'current-context': KUBECONFIG_NAMES.context,
    preferences: {},
  });
}

/** Writes the kubeconfig atomically (readers never see half a file), mode 0600: it holds the token. */
export function writeKubeconfig(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, file);
}
