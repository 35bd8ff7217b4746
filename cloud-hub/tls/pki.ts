/**
 * TLS material generated in a data dir, for the API server's HTTPS (cloud-hub/apiserver/) and,
 * with `cloud-hub --tls` and no certificate given, the hub's own wss:// (under its own names:
 * PkiIdentity): a private CA and a serving certificate it signs, both ECDSA
 * P-256 (WebCrypto through @peculiar/x509), generated in the data dir on first start and reused
 * afterwards, so a kubeconfig written once keeps working across restarts.
 *
 * The serving certificate is reissued (by the same CA) when it is missing, was not issued by
 * the CA on disk, expires within 30 days, or does not name every host clients use (127.0.0.1,
 * ::1, localhost and the listen address when it is a specific one). Private keys are 0600.
 * kubectl is a Go client and strict about certificates: positive serial numbers, SANs (the
 * common name is not used for host checks), CA basicConstraints and keyUsage certSign.
 */
// tsyringe, under @peculiar/x509, requires the Reflect metadata polyfill before it loads. Both
// are heavy: import this module with import() only where a certificate is made (see main.ts).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { APISERVER_PKI, DAY_MS, pkiFiles, RENEW_BEFORE_DAYS, servingHosts, type PkiFiles, type PkiIdentity, type ServingPki } from './pki-reuse.js';

export { APISERVER_PKI, pkiFiles, servingHosts, type PkiFiles, type PkiIdentity, type ServingPki } from './pki-reuse.js';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CA_VALIDITY_DAYS = 3650;
const SERVING_VALIDITY_DAYS = 365;

function writeAtomically(file: string, text: string, mode: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode });
  renameSync(temp, file);
}

/** A positive serial number (the top bit cleared), hex. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString('hex');
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

function sanNames(hosts: string[]): x509.JsonGeneralName[] {
  return hosts.map((host) => ({ type: isIP(host) ? 'ip' : 'dns', value: host }));
}

async function createCa(files: PkiFiles, identity: PkiIdentity): Promise<{ cert: x509.X509Certificate; key: webcrypto.CryptoKey }> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: `CN=${identity.caCommonName}`,
      notBefore: new Date(now - 60 * 60 * 1000),
      notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  writeAtomically(files.caKeyPath, await exportKeyPem(keys.privateKey), 0o600);
  writeAtomically(files.caCertPath, cert.toString('pem'), 0o644);
  return { cert, key: keys.privateKey };
}

async function createServingCert(files: PkiFiles, ca: { cert: x509.X509Certificate; key: webcrypto.CryptoKey }, hosts: string[], identity: PkiIdentity): Promise<void> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: `CN=${identity.servingCommonName}`,
      issuer: ca.cert.subject,
      notBefore: new Date(now - 60 * 60 * 1000),
      notAfter: new Date(now + SERVING_VALIDITY_DAYS * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: ca.key,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(sanNames(hosts), false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false, webcrypto),
      ],
    },
    webcrypto,
  );
  writeAtomically(files.keyPath, await exportKeyPem(keys.privateKey), 0o600);
  writeAtomically(files.certPath, cert.toString('pem'), 0o644);
}

/** True when the serving certificate on disk can be kept. */
async function servingCertUsable(files: PkiFiles, caCert: x509.X509Certificate, hosts: string[]): Promise<boolean> {
  if (!existsSync(files.certPath) || !existsSync(files.keyPath)) return false;
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(readFileSync(files.certPath, 'utf8'));
  } catch {
    return false;
  }
  if (cert.notAfter.getTime() - Date.now() < RENEW_BEFORE_DAYS * DAY_MS) return false;
  if (!(await cert.verify({ publicKey: caCert.publicKey, signatureOnly: true }, webcrypto))) return false;
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const named = new Set((san?.names.toJSON() ?? []).map((name) => name.value));
  return hosts.every((host) => named.has(host));
}

/**
 * Loads the CA and serving certificate from `dataDir`, creating or renewing what is needed.
 * `extraHosts` are more names the serving certificate must carry (DNS names or IPs).
 */
export async function ensureServingPki(dataDir: string, listenHost: string, identity: PkiIdentity = APISERVER_PKI, extraHosts: readonly string[] = []): Promise<ServingPki> {
  const files = pkiFiles(dataDir, identity);
  const hosts = servingHosts(listenHost, extraHosts);
  let ca: { cert: x509.X509Certificate; key: webcrypto.CryptoKey };
  if (existsSync(files.caCertPath) && existsSync(files.caKeyPath)) {
    ca = { cert: new x509.X509Certificate(readFileSync(files.caCertPath, 'utf8')), key: await importSigningKey(readFileSync(files.caKeyPath, 'utf8')) };
  } else {
    ca = await createCa(files, identity);
  }
  if (!(await servingCertUsable(files, ca.cert, hosts))) await createServingCert(files, ca, hosts, identity);
  return {
    caCertPem: readFileSync(files.caCertPath, 'utf8'),
    certPem: readFileSync(files.certPath, 'utf8'),
    keyPem: readFileSync(files.keyPath, 'utf8'),
    files,
  };
}

/** The hub's kubelet endpoint (cloud-hub/streams/): its own CA and serving certificate. */
export const KUBELET_PKI: PkiIdentity = { name: 'hub-kubelet', caCommonName: 'edge-sync-hub-kubelet-ca', servingCommonName: 'edge-sync-hub-kubelet' };

export interface ClientCertificate {
  certPem: string;
  keyPem: string;
}

/**
 * A client certificate signed by `identity`'s CA (created if missing), for `commonName` in the
 * groups `organizations`: what the embedded API presents to the hub's kubelet endpoint, as
 * kube-apiserver presents its --kubelet-client-certificate. Files DIR/<name>.crt and .key,
 * reissued when missing, expiring within 30 days, or not issued by the CA on disk.
 */
export async function ensureClientCertificate(dataDir: string, name: string, commonName: string, organizations: readonly string[], identity: PkiIdentity = APISERVER_PKI): Promise<ClientCertificate> {
  await ensureServingPki(dataDir, '127.0.0.1', identity);
  const files = pkiFiles(dataDir, identity);
  const certPath = path.join(dataDir, `${name}.crt`);
  const keyPath = path.join(dataDir, `${name}.key`);
  const caCert = new x509.X509Certificate(readFileSync(files.caCertPath, 'utf8'));
  let usable = existsSync(certPath) && existsSync(keyPath);
  if (usable) {
    try {
      const cert = new x509.X509Certificate(readFileSync(certPath, 'utf8'));
      usable = cert.notAfter.getTime() - Date.now() >= RENEW_BEFORE_DAYS * DAY_MS && (await cert.verify({ publicKey: caCert.publicKey, signatureOnly: true }, webcrypto));
    } catch {
      usable = false;
    }
  }
  if (!usable) {
    const key = await importSigningKey(readFileSync(files.caKeyPath, 'utf8'));
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
    const now = Date.now();
    const subject = [`CN=${commonName}`, ...organizations.map((o) => `O=${o}`)].join(', ');
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serialNumber(),
        subject,
        issuer: caCert.subject,
        notBefore: new Date(now - 60 * 60 * 1000),
        notAfter: new Date(now + SERVING_VALIDITY_DAYS * DAY_MS),
        publicKey: keys.publicKey,
        signingKey: key,
        signingAlgorithm: ALGORITHM,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
          await x509.AuthorityKeyIdentifierExtension.create(caCert, false, webcrypto),
        ],
      },
      webcrypto,
    );
    writeAtomically(keyPath, await exportKeyPem(keys.privateKey), 0o600);
    writeAtomically(certPath, cert.toString('pem'), 0o644);
  }
  return { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
}
