/**
 * The common case of a restart, without @peculiar/x509: a data dir whose CA and serving
 * certificate pki.ts made earlier and that can be kept as they are. Checked with node:crypto's
 * X509Certificate by pki.ts's own rules (issued by the CA on disk, not expiring within 30 days,
 * naming every host); anything else (a file missing or unreadable, a host not named, a SAN
 * list it cannot read) answers undefined and the caller goes to ensureServingPki, which loads
 * @peculiar/x509 and its polyfills (a second or more of a restart on a loaded machine) to make
 * what is needed.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

export interface PkiFiles {
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
}

/** PEM text of what the HTTPS server and the kubeconfig need. */
export interface ServingPki {
  caCertPem: string;
  certPem: string;
  keyPem: string;
  files: PkiFiles;
}

/** Whose PKI: file names in the data dir and certificate names (the hub's wss:// uses its own). */
export interface PkiIdentity {
  /** Files NAME-ca.crt, NAME-ca.key, NAME.crt, NAME.key. */
  name: string;
  caCommonName: string;
  servingCommonName: string;
}

export const APISERVER_PKI: PkiIdentity = { name: 'apiserver', caCommonName: 'edge-sync-embedded-ca', servingCommonName: 'edge-sync-embedded-apiserver' };

export const DAY_MS = 24 * 60 * 60 * 1000;
/** A serving certificate expiring within this many days is reissued. */
export const RENEW_BEFORE_DAYS = 30;

export function pkiFiles(dataDir: string, identity: PkiIdentity = APISERVER_PKI): PkiFiles {
  return {
    caCertPath: path.join(dataDir, `${identity.name}-ca.crt`),
    caKeyPath: path.join(dataDir, `${identity.name}-ca.key`),
    certPath: path.join(dataDir, `${identity.name}.crt`),
    keyPath: path.join(dataDir, `${identity.name}.key`),
  };
}

/** Hosts the serving certificate must name: loopback always, plus a specific listen address. */
export function servingHosts(listenHost: string, extraHosts: readonly string[] = []): string[] {
  const hosts = ['127.0.0.1', '::1', 'localhost'];
  for (const host of extraHosts) if (host && !hosts.includes(host)) hosts.push(host);
  const bare = listenHost.replace(/^\[|\]$/g, '');
  if (bare && bare !== '0.0.0.0' && bare !== '::' && !hosts.includes(bare)) hosts.push(bare);
  return hosts;
}

/** An IPv6 address in one spelling (node prints SANs' as 0:0:0:0:0:0:0:1, we write ::1). */
function canonicalIp(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname : address;
}

/** The names of a subjectAltName as node:crypto prints it, or undefined when it is not plainly `DNS:x, IP Address:y`. */
function sanNames(subjectAltName: string | undefined): Set<string> | undefined {
  if (subjectAltName === undefined) return undefined;
  const names = new Set<string>();
  for (const entry of subjectAltName.split(', ')) {
    if (entry.startsWith('DNS:')) names.add(entry.slice(4));
    else if (entry.startsWith('IP Address:') && isIP(entry.slice(11)) !== 0) names.add(canonicalIp(entry.slice(11)));
    else return undefined;
  }
  return names;
}

/** The PKI in `dataDir` when it can be kept as it is, read without generating anything; else undefined. */
export function reusableServingPki(dataDir: string, listenHost: string, identity: PkiIdentity = APISERVER_PKI, extraHosts: readonly string[] = [], now = Date.now()): ServingPki | undefined {
  const files = pkiFiles(dataDir, identity);
  try {
    const caCertPem = readFileSync(files.caCertPath, 'utf8');
    const certPem = readFileSync(files.certPath, 'utf8');
    const keyPem = readFileSync(files.keyPath, 'utf8');
    // ensureServingPki loads the CA key on every start: one it cannot read fails there, as before.
    createPrivateKey(readFileSync(files.caKeyPath, 'utf8'));
    const ca = new X509Certificate(caCertPem);
    const cert = new X509Certificate(certPem);
    const notAfter = Date.parse(cert.validTo);
    if (!Number.isFinite(notAfter) || notAfter - now < RENEW_BEFORE_DAYS * DAY_MS) return undefined;
    if (!cert.verify(ca.publicKey)) return undefined;
    const named = sanNames(cert.subjectAltName);
    if (!named || !servingHosts(listenHost, extraHosts).every((host) => named.has(canonicalIp(host)))) return undefined;
    return { caCertPem, certPem, keyPem, files };
  } catch {
    return undefined;
  }
}

/**
 * A client certificate pki.ts's ensureClientCertificate made earlier (DIR/<name>.crt and .key),
 * when it can be kept by the same rules: issued by `identity`'s CA on disk, not expiring within
 * 30 days. Undefined otherwise, and the caller goes to ensureClientCertificate.
 */
export function reusableClientCertificate(dataDir: string, name: string, identity: PkiIdentity = APISERVER_PKI, now = Date.now()): { certPem: string; keyPem: string } | undefined {
  try {
    const ca = new X509Certificate(readFileSync(pkiFiles(dataDir, identity).caCertPath, 'utf8'));
    const certPem = readFileSync(path.join(dataDir, `${name}.crt`), 'utf8');
    const keyPem = readFileSync(path.join(dataDir, `${name}.key`), 'utf8');
    createPrivateKey(keyPem);
    const cert = new X509Certificate(certPem);
    const notAfter = Date.parse(cert.validTo);
    if (!Number.isFinite(notAfter) || notAfter - now < RENEW_BEFORE_DAYS * DAY_MS || !cert.verify(ca.publicKey)) return undefined;
    return { certPem, keyPem };
  } catch {
    return undefined;
  }
}
