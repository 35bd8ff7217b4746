/**
 * `cloud-hub` loads the API server (cloud-hub/apiserver/, with SQLite), the PKI (cloud-hub/tls/,
 * with @peculiar/x509 and reflect-metadata) and the in-process MQTT broker (aedes) only for the
 * commands that use them: `apiserver`, `--embedded`, `--tls` without a certificate of its own,
 * and `--embedded-broker`. A hub serving a cluster from a kubeconfig, and `--help`, load none of
 * them. Each process runs the real binary under a module
 * probe (test/helpers/module-probe.mjs) that lists every module it resolves.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleProbe } from '../helpers/module-probe.js';
import { BIN, run, startProcess, type RunningProcess } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';

/** What only the commands that need them may load, by where it lives. */
const API_SERVER = /\/dist\/cloud-hub\/apiserver\/(?!command\.js$|defaults\.js$|controller-settings\.js$)/;
const PKI = /\/dist\/cloud-hub\/tls\/pki\.js$/;
const X509 = /\/node_modules\/@peculiar\/x509\//;
const REFLECT_METADATA = /\/node_modules\/reflect-metadata\//;
const SQLITE = /\/node_modules\/better-sqlite3\//;
const AEDES = /\/node_modules\/aedes\//;

const matching = (modules: string[], pattern: RegExp): string[] => modules.filter((url) => pattern.test(url));

let dir: ReturnType<typeof makeTempDir>;
let apiserver: RunningProcess;
let apiserverModules: string[];
let kubeconfig: string;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = makeTempDir('edge-lazy-');
  const probe = moduleProbe(path.join(dir.path, 'apiserver.modules'));
  apiserver = await startProcess(BIN.cloudHubModules, ['apiserver', '--data', path.join(dir.path, 'api'), '--listen', '127.0.0.1:0'], { nodeArgs: probe.nodeArgs, env: probe.env });
  apiserverModules = probe.loaded();
  kubeconfig = path.join(dir.path, 'api', 'kubeconfig');
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await apiserver?.stop();
  dir?.remove();
});

/** A hub against the apiserver's kubeconfig, under the probe; returns what it loaded once ready. */
async function hubModules(name: string, args: string[]): Promise<string[]> {
  const probe = moduleProbe(path.join(dir.path, `${name}.modules`));
  const hub = await startProcess(BIN.cloudHubModules, ['--kubeconfig', kubeconfig, '--data', path.join(dir.path, name), '--listen', '127.0.0.1:0', ...args], {
    nodeArgs: probe.nodeArgs,
    env: probe.env,
  });
  stops.push(() => hub.stop());
  const modules = probe.loaded();
  await hub.stop();
  return modules;
}

describe('cloud-hub loads the API server, the PKI and aedes only when a command needs them', () => {
  it('`cloud-hub apiserver` loads both (the probe sees them)', () => {
    expect(matching(apiserverModules, /\/dist\/cloud-hub\/apiserver\/server\.js$/)).toHaveLength(1);
    expect(matching(apiserverModules, PKI)).toHaveLength(1);
    expect(matching(apiserverModules, X509).length).toBeGreaterThan(0);
    expect(matching(apiserverModules, REFLECT_METADATA).length).toBeGreaterThan(0);
    expect(matching(apiserverModules, SQLITE).length).toBeGreaterThan(0);
  });

  it('a restarted `cloud-hub apiserver` keeps its certificates without loading the PKI generator', async () => {
    // The first server's TLS files in a data dir of its own (its database stays locked by it).
    const again = path.join(dir.path, 'api-again');
    mkdirSync(again, { mode: 0o700 });
    const files = ['apiserver-ca.crt', 'apiserver-ca.key', 'apiserver.crt', 'apiserver.key'];
    for (const file of files) copyFileSync(path.join(dir.path, 'api', file), path.join(again, file));
    const probe = moduleProbe(path.join(dir.path, 'api-again.modules'));
    const restarted = await startProcess(BIN.cloudHubModules, ['apiserver', '--data', again, '--listen', '127.0.0.1:0'], { nodeArgs: probe.nodeArgs, env: probe.env });
    stops.push(() => restarted.stop());
    const modules = probe.loaded();
    expect(matching(modules, /\/dist\/cloud-hub\/apiserver\/server\.js$/)).toHaveLength(1);
    expect(matching(modules, PKI)).toEqual([]);
    expect(matching(modules, X509)).toEqual([]);
    expect(matching(modules, REFLECT_METADATA)).toEqual([]);
    // It serves the same certificate, unchanged on disk.
    for (const file of files) expect(readFileSync(path.join(again, file), 'utf8')).toBe(readFileSync(path.join(dir.path, 'api', file), 'utf8'));
    await restarted.stop();
  }, 120_000);

  it('a hub serving a kubeconfig, without --embedded or --tls, loads neither', async () => {
    const modules = await hubModules('plain', []);
    // The probe saw the hub itself: an empty list would prove nothing.
    expect(matching(modules, /\/dist\/cloud-hub\/hub\.js$/)).toHaveLength(1);
    expect(matching(modules, API_SERVER)).toEqual([]);
    expect(matching(modules, PKI)).toEqual([]);
    expect(matching(modules, X509)).toEqual([]);
    expect(matching(modules, REFLECT_METADATA)).toEqual([]);
    expect(matching(modules, SQLITE)).toEqual([]);
    expect(matching(modules, AEDES)).toEqual([]);
  }, 120_000);

  it('a hub with --tls and no certificate of its own loads the PKI, not the API server', async () => {
    const modules = await hubModules('tls', ['--tls']);
    expect(matching(modules, PKI)).toHaveLength(1);
    expect(matching(modules, X509).length).toBeGreaterThan(0);
    expect(matching(modules, API_SERVER)).toEqual([]);
    expect(matching(modules, SQLITE)).toEqual([]);
  }, 120_000);

  it('`cloud-hub --help` loads neither', async () => {
    const probe = moduleProbe(path.join(dir.path, 'help.modules'));
    const result = await run(process.execPath, [...probe.nodeArgs, BIN.cloudHubModules, '--help'], { env: probe.env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('apiserver');
    const modules = probe.loaded();
    expect(matching(modules, /\/dist\/cloud-hub\/main\.js$/)).toHaveLength(1);
    expect(matching(modules, API_SERVER)).toEqual([]);
    expect(matching(modules, PKI)).toEqual([]);
    expect(matching(modules, X509)).toEqual([]);
    expect(matching(modules, REFLECT_METADATA)).toEqual([]);
    expect(matching(modules, AEDES)).toEqual([]);
  });

  it('a hub with --embedded-broker loads aedes (the probe sees it), not the API server', async () => {
    const modules = await hubModules('broker', ['--embedded-broker', '127.0.0.1:0']);
    expect(matching(modules, /\/dist\/cloud-hub\/transport\/embedded-broker\.js$/)).toHaveLength(1);
    expect(matching(modules, AEDES).length).toBeGreaterThan(0);
    expect(matching(modules, API_SERVER)).toEqual([]);
    expect(matching(modules, SQLITE)).toEqual([]);
  }, 120_000);
});
