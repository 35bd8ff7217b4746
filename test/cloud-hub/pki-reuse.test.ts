/**
 * A restart keeps the TLS files an earlier start made, checked with node:crypto alone
 * (cloud-hub/tls/pki-reuse.ts); whatever ensureServingPki would reissue is not kept, so the
 * caller goes on to it.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureClientCertificate, ensureServingPki } from '../../cloud-hub/tls/pki.js';
import { reusableClientCertificate, reusableServingPki, type PkiIdentity } from '../../cloud-hub/tls/pki-reuse.js';
import { makeTempDir } from '../helpers/tmp.js';

const dir = makeTempDir('edge-pki-reuse-');
const HUB: PkiIdentity = { name: 'hub', caCommonName: 'test-ca', servingCommonName: 'test-hub' };
const EXTRA = ['edge.example', 'fd00::1'];

afterAll(() => dir.remove());

async function made(name: string): Promise<string> {
  const data = path.join(dir.path, name);
  mkdirSync(data, { recursive: true, mode: 0o700 });
  await ensureServingPki(data, '10.1.2.3', HUB, EXTRA);
  return data;
}

describe('reusableServingPki', () => {
  it('gives back what ensureServingPki made, which ensureServingPki then keeps too', async () => {
    const data = await made('same');
    const reused = reusableServingPki(data, '10.1.2.3', HUB, EXTRA);
    expect(reused).toBeDefined();
    const again = await ensureServingPki(data, '10.1.2.3', HUB, EXTRA);
    expect(reused).toEqual(again);
    // Names spelled differently than the certificate prints them still match (::1, fd00::1, [10.1.2.3]).
    expect(reusableServingPki(data, '[10.1.2.3]', HUB, ['FD00:0:0::1', 'edge.example'])?.certPem).toBe(again.certPem);
  });

  it('keeps nothing that ensureServingPki would reissue', async () => {
    const data = await made('reissue');
    // A host the certificate does not name.
    expect(reusableServingPki(data, '10.9.9.9', HUB, EXTRA)).toBeUndefined();
    expect(reusableServingPki(data, '10.1.2.3', HUB, [...EXTRA, 'other.example'])).toBeUndefined();
    // Expiring within 30 days.
    const notAfter = Date.parse(new X509Certificate(readFileSync(path.join(data, 'hub.crt'))).validTo);
    expect(reusableServingPki(data, '10.1.2.3', HUB, EXTRA, notAfter - 31 * 86_400_000)).toBeDefined();
    expect(reusableServingPki(data, '10.1.2.3', HUB, EXTRA, notAfter - 29 * 86_400_000)).toBeUndefined();
    // Issued by another CA than the one on disk.
    const other = await made('other');
    const mixed = path.join(dir.path, 'mixed');
    mkdirSync(mixed, { mode: 0o700 });
    for (const file of ['hub-ca.crt', 'hub-ca.key']) copyFileSync(path.join(data, file), path.join(mixed, file));
    for (const file of ['hub.crt', 'hub.key']) copyFileSync(path.join(other, file), path.join(mixed, file));
    expect(reusableServingPki(mixed, '10.1.2.3', HUB, EXTRA)).toBeUndefined();
    // A file missing, or not a certificate.
    rmSync(path.join(mixed, 'hub.key'));
    expect(reusableServingPki(mixed, '10.1.2.3', HUB, EXTRA)).toBeUndefined();
    writeFileSync(path.join(data, 'hub.crt'), 'not a certificate\n');
    expect(reusableServingPki(data, '10.1.2.3', HUB, EXTRA)).toBeUndefined();
  });

  it('keeps nothing when the CA key is unreadable (ensureServingPki fails on it, as before)', async () => {
    const data = await made('bad-ca-key');
    writeFileSync(path.join(data, 'hub-ca.key'), 'garbage\n');
    expect(reusableServingPki(data, '10.1.2.3', HUB, EXTRA)).toBeUndefined();
    await expect(ensureServingPki(data, '10.1.2.3', HUB, EXTRA)).rejects.toThrow();
  });
});

describe('reusableClientCertificate', () => {
  it('gives back the client certificate ensureClientCertificate made, and nothing once the CA changed or a file is gone', async () => {
    const data = await made('client');
    const made1 = await ensureClientCertificate(data, 'kubelet-client', 'kube-apiserver-kubelet-client', ['system:masters'], HUB);
    expect(reusableClientCertificate(data, 'kubelet-client', HUB)).toEqual(made1);
    // Expiring within 30 days (seen from a year on): reissued, not kept.
    expect(reusableClientCertificate(data, 'kubelet-client', HUB, Date.now() + 365 * 24 * 3600 * 1000)).toBeUndefined();
    // Another CA: not issued by it.
    const other = await made('client-other-ca');
    copyFileSync(path.join(other, 'hub-ca.crt'), path.join(data, 'hub-ca.crt'));
    expect(reusableClientCertificate(data, 'kubelet-client', HUB)).toBeUndefined();
    rmSync(path.join(data, 'kubelet-client.key'));
    expect(reusableClientCertificate(data, 'kubelet-client', HUB)).toBeUndefined();
  });
});
