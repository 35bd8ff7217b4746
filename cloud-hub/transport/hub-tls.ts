/**
 * The certificate the hub serves wss:// (and, when asked, https metrics) with: the operator's
 * (--tls-cert/--tls-key), or one signed by a CA the hub generates in its data directory the way
 * the embedded API does (cloud-hub/tls/pki.ts, loaded only when needed). Agents trust the
 * generated one with `--hub-ca DATA/hub-ca.crt`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import { reusableServingPki, type PkiIdentity } from '../tls/pki-reuse.js';

export const HUB_PKI: PkiIdentity = { name: 'hub', caCommonName: 'edge-sync-hub-ca', servingCommonName: 'edge-sync-hub' };

export interface HubTlsSettings {
  /** PEM files given by the operator; both or neither. */
  certFile?: string;
  keyFile?: string;
  /** Where a generated CA and certificate live. */
  dataDir: string;
  /** The listen address: a specific one is named in a generated certificate. */
  listenHost: string;
  /** More DNS names or IPs agents use to reach the hub (--tls-san); this host's name is always added. */
  sans?: readonly string[];
}

export interface HubTls {
  cert: string;
  key: string;
  /** The CA file agents need (--hub-ca), when the hub generated the certificate. */
  caFile?: string;
}

export async function loadHubTls(settings: HubTlsSettings): Promise<HubTls> {
  if (settings.certFile || settings.keyFile) {
    if (!settings.certFile || !settings.keyFile) throw new Error('--tls-cert and --tls-key go together: give both, or neither to use a generated CA');
    const cert = readPem(settings.certFile, '--tls-cert');
    const key = readPem(settings.keyFile, '--tls-key');
    try {
      createSecureContext({ cert, key });
    } catch (err) {
      throw new Error(`--tls-cert ${settings.certFile} / --tls-key ${settings.keyFile}: ${(err as Error).message}`);
    }
    return { cert, key };
  }
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const hosts = [hostname().toLowerCase(), ...(settings.sans ?? [])];
  const pki = reusableServingPki(settings.dataDir, settings.listenHost, HUB_PKI, hosts) ?? (await (await import('../tls/pki.js')).ensureServingPki(settings.dataDir, settings.listenHost, HUB_PKI, hosts));
  return { cert: pki.certPem, key: pki.keyPem, caFile: pki.files.caCertPath };
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${flag} ${file}: ${(err as Error).message}`);
  }
}
