/**
 * deploy/edge/install.sh for real, into a temporary root file system (--root, --no-systemctl):
 * install from the agent's package (`npm run build:agent && npm pack ./dist-agent`: the bundled
 * edge-agent.js and better-sqlite3), refuse edge-sync's own package, check the user, files, modes, config and systemd unit,
 * start the installed agent with the generated config as the edge-agent user (hub unreachable),
 * reinstall (nothing changes), change a setting, uninstall (data kept), purge.
 *
 * Offline: npm resolves better-sqlite3 from its cache (prefer-offline), and its prebuild-install
 * takes the binary from a local prebuild directory (its documented
 * `npm_config_better_sqlite3_local_prebuilds`) made from the repository's own build, where a
 * device would download the prebuilt binary for its architecture.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ensureServingPki } from '../../cloud-hub/tls/pki.js';
import { buildAgentBundle } from '../../scripts/agent-bundle/build.js';
import { localPrebuilds, packAgent, UNIT_NODE_FLAGS } from '../../scripts/agent-bundle/install.js';
import { ManagedProcess } from '../../sim/launch/managed-process.js';
import { REPO, run } from '../helpers/process.js';
import { requireTool } from '../helpers/system-tools.js';
import { makeTempDir } from '../helpers/tmp.js';

const INSTALL = path.join(REPO, 'deploy/edge/install.sh');
const AS_ROOT = process.getuid?.() === 0;
const dir = makeTempDir('edge-install-');
const root = path.join(dir.path, 'root');
const tokenFile = path.join(dir.path, 'edge-inst-1.token');
let hubCaFile = '';
const prebuilds = path.join(dir.path, 'prebuilds');
const INSTALLED_AGENT = 'opt/edge-agent/node_modules/edge-sync-agent/edge-agent.js';
let tarball = '';
const nodeBin = execFileSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).trim();
let agent: ManagedProcess | undefined;

const at = (file: string) => path.join(root, file);
const mode = (file: string) => (statSync(at(file)).mode & 0o7777).toString(8);
const passwd = () => readFileSync(at('etc/passwd'), 'utf8');

function install(...args: string[]) {
  return run('bash', [INSTALL, '--root', root, '--no-systemctl', ...args], {
    env: { npm_config_better_sqlite3_local_prebuilds: prebuilds, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
    timeoutMs: 240_000,
  });
}

/** A fresh target: the account files of a new system with only root in them. */
function newRoot(target: string): void {
  mkdirSync(path.join(target, 'etc'), { recursive: true });
  for (const file of ['passwd', 'group', 'shadow', 'gshadow']) {
    const line = readFileSync(`/etc/${file}`, 'utf8').split('\n').find((l) => l.startsWith('root:')) ?? 'root:x:0:';
    writeFileSync(path.join(target, 'etc', file), `${line}\n`, { mode: file.endsWith('shadow') ? 0o640 : 0o644 });
  }
}

beforeAll(async () => {
  // The tarball a release ships for devices: npm run build:agent, npm pack ./dist-agent.
  tarball = packAgent((await buildAgentBundle(path.join(dir.path, 'dist-agent'))).dir, dir.path);
  localPrebuilds(prebuilds);
  writeFileSync(tokenFile, 'edge-inst-1-token\n', { mode: 0o600 });
  // A hub's CA, as `cloud-hub --tls` writes it to DATA/hub-ca.crt.
  mkdirSync(path.join(dir.path, 'hub'));
  hubCaFile = (await ensureServingPki(path.join(dir.path, 'hub'), '127.0.0.1', { name: 'hub', caCommonName: 'edge-sync-hub-ca', servingCommonName: 'edge-sync-hub' })).files.caCertPath;
  newRoot(root);
  // The agent user must be able to reach its files under the temp dir.
  chmodSync(dir.path, 0o755);
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  dir.remove();
});

describe('install.sh', () => {
  it('is shellcheck clean (the arm64 scripts too)', async () => {
    const scripts = [INSTALL, ...readdirSync(path.join(REPO, 'scripts/arm64')).filter((f) => f.endsWith('.sh')).map((f) => path.join(REPO, 'scripts/arm64', f))];
    const result = await run(requireTool('shellcheck'), ['--severity=style', ...scripts]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('refuses what it cannot install: no hub, a bad node name, Node.js older than 20', async () => {
    const other = path.join(dir.path, 'other');
    newRoot(other);
    const attempt = (...args: string[]) => run('bash', [INSTALL, '--root', other, '--no-systemctl', '--tarball', tarball, '--token-file', tokenFile, ...args]);
    expect((await attempt()).stderr).toMatch(/--hub URL is needed/);
    expect((await attempt('--hub', 'ws://hub:7070', '--node', 'Edge_1')).stderr).toMatch(/node name "Edge_1" is not a DNS-1123 subdomain/);
    expect((await attempt('--hub', 'http://hub:7070')).stderr).toMatch(/expected ws:\/\/, wss:\/\/, mqtt:\/\/ or mqtts:\/\//);
    expect((await attempt('--hub', 'wss://hub:7070', '--hub-ca', tokenFile)).stderr).toMatch(/--hub-ca .*: no PEM certificate in it/);
    // A Node.js 18 (what Debian 12 and Raspberry Pi OS ship) is refused with what to install instead.
    const old = path.join(dir.path, 'node18');
    writeFileSync(old, '#!/bin/sh\ncase "$1" in --version) echo v18.19.0 ;; *) echo 18 ;; esac\n', { mode: 0o755 });
    const tooOld = await attempt('--hub', 'ws://hub:7070', '--node-bin', old);
    expect(tooOld.code).toBe(1);
    expect(tooOld.stderr).toMatch(/Node\.js 20 or later is needed/);
    expect(tooOld.stderr).toMatch(/apt-get install nodejs npm/);
    // edge-sync's own package (the hub and all its dependencies) is not what devices install.
    const wrong = path.join(dir.path, 'wrong');
    mkdirSync(path.join(wrong, 'package'), { recursive: true });
    writeFileSync(path.join(wrong, 'package/package.json'), JSON.stringify({ name: 'edge-sync', version: '0.1.0' }));
    execFileSync('tar', ['czf', path.join(dir.path, 'edge-sync-0.1.0.tgz'), '-C', wrong, 'package']);
    const notAgent = await run('bash', [INSTALL, '--root', other, '--no-systemctl', '--tarball', path.join(dir.path, 'edge-sync-0.1.0.tgz'), '--token-file', tokenFile, '--hub', 'ws://hub:7070']);
    expect(notAgent.code).toBe(1);
    expect(notAgent.stderr).toMatch(/expected the edge-sync-agent package, found edge-sync; .*npm run build:agent && npm pack \.\/dist-agent/);
    expect(readdirSync(other)).toEqual(['etc']);
  });

  it('installs the agent from the tarball: user, directories, token, config and unit', async () => {
    const result = await install('--tarball', tarball, '--hub', 'ws://127.0.0.1:9/', '--node', 'edge-inst-1', '--token-file', tokenFile, '--hub-ca', hubCaFile);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(existsSync(at(INSTALLED_AGENT))).toBe(true);
    expect(readdirSync(at('opt/edge-agent/node_modules/better-sqlite3/build/Release'))).toContain('better_sqlite3.node');
    expect(result.stdout).toMatch(/installed \S+ in \/opt\/edge-agent/);
    // The agent alone: none of the hub's packages, nothing the bundle already holds.
    for (const name of ['vitest', '@kubernetes/client-node', 'aedes', '@peculiar/x509', 'ws', 'pino', 'edge-sync']) expect(existsSync(at(`opt/edge-agent/node_modules/${name}`)), name).toBe(false);

    expect(parseYaml(readFileSync(at('etc/edge-agent/config.yaml'), 'utf8'))).toEqual({
      hub: 'ws://127.0.0.1:9/',
      node: 'edge-inst-1',
      tokenFile: '/etc/edge-agent/token',
      hubCa: '/etc/edge-agent/hub-ca.crt',
      data: '/var/lib/edge-agent',
      localApi: '127.0.0.1:10350',
      metrics: '127.0.0.1:9101',
    });
    expect(readFileSync(at('etc/edge-agent/token'), 'utf8')).toBe('edge-inst-1-token\n');
    expect(readFileSync(at('etc/edge-agent/hub-ca.crt'), 'utf8')).toBe(readFileSync(hubCaFile, 'utf8'));
    // The token is for the agent's user alone: the agent refuses one its group or others can read.
    expect([mode('etc/edge-agent'), mode('etc/edge-agent/config.yaml'), mode('etc/edge-agent/token'), mode('etc/edge-agent/hub-ca.crt'), mode('var/lib/edge-agent'), mode('opt/edge-agent')]).toEqual([
      '750',
      '640',
      '400',
      '644',
      '700',
      '755',
    ]);

    const unit = readFileSync(at('etc/systemd/system/edge-agent.service'), 'utf8');
    const service = Object.fromEntries(
      unit
        .slice(unit.indexOf('[Service]'), unit.indexOf('[Install]'))
        .split('\n')
        .filter((line) => /^[A-Za-z]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(service).toEqual({
      Type: 'simple',
      User: 'edge-agent',
      Group: 'edge-agent',
      EnvironmentFile: '-/etc/edge-agent/env',
      ExecStart: `${nodeBin} ${UNIT_NODE_FLAGS.join(' ')} /${INSTALLED_AGENT} --config /etc/edge-agent/config.yaml`,
      Restart: 'always',
      RestartSec: '2',
      KillMode: 'process',
      Delegate: 'yes',
      TimeoutStopSec: '30',
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'read-only',
      ReadWritePaths: '/var/lib/edge-agent',
      // Secret volumes on tmpfs (/run/edge-agent/secrets), kept while the workloads outlive the agent.
      RuntimeDirectory: 'edge-agent',
      RuntimeDirectoryMode: '0700',
      RuntimeDirectoryPreserve: 'yes',
    });
    expect(unit).toMatch(/\[Install\]\nWantedBy=multi-user.target\n/);
    // systemd itself finds nothing to complain about.
    const verify = await run(requireTool('systemd-analyze'), ['verify', at('etc/systemd/system/edge-agent.service')]);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);

    if (AS_ROOT) {
      const user = passwd().split('\n').find((line) => line.startsWith('edge-agent:'))!;
      const [, , uid, gid, , home, shell] = user.split(':');
      expect(Number(uid)).toBeLessThan(1000); // a system user
      expect([home, shell]).toEqual(['/var/lib/edge-agent', '/usr/sbin/nologin']);
      expect(statSync(at('var/lib/edge-agent')).uid).toBe(Number(uid));
      expect(statSync(at('etc/edge-agent/config.yaml'))).toMatchObject({ uid: 0, gid: Number(gid) });
      expect(statSync(at('etc/edge-agent/token'))).toMatchObject({ uid: Number(uid), gid: Number(gid) });
    }
  }, 240_000);

  it('the installed agent starts with the generated config, as the edge-agent user, with the hub unreachable', async () => {
    const user = passwd().split('\n').find((line) => line.startsWith('edge-agent:'));
    const [uid, gid] = user ? user.split(':').slice(2, 4).map(Number) : [undefined, undefined];
    // The unit's command line, with the paths of the mounted root (flags override the file).
    const args = ['--config', at('etc/edge-agent/config.yaml'), '--data', at('var/lib/edge-agent'), '--token-file', at('etc/edge-agent/token'), '--hub-ca', at('etc/edge-agent/hub-ca.crt'), '--local-api', '127.0.0.1:0', '--metrics', '127.0.0.1:0'];
    const child = spawn(nodeBin, [at(INSTALLED_AGENT), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      ...(AS_ROOT && uid !== undefined ? { uid, gid } : {}),
    });
    agent = new ManagedProcess(child, 'installed edge-agent');
    const ready = await agent.waitForLog((line) => line.msg === 'ready', 30_000, 'ready');
    expect(ready).toMatchObject({ node: 'edge-inst-1', hub: 'ws://127.0.0.1:9/edge/v1/edge-inst-1', objects: 0 });
    await agent.waitForLog((line) => line.msg === 'cannot reach the hub', 10_000, 'a failed connection');
    expect((await fetch(`${ready.metrics as string}/healthz`)).status).toBe(200);
    expect((await fetch(`${ready.localApi as string}/api/v1/pods`)).status).toBe(200);
    expect(existsSync(at('var/lib/edge-agent/cache.db'))).toBe(true);
    if (AS_ROOT) expect(statSync(at('var/lib/edge-agent/cache.db')).uid).toBe(uid);
    await agent.stop();
  });

  it('is idempotent: the same arguments again change nothing', async () => {
    const files = ['etc/edge-agent/config.yaml', 'etc/edge-agent/token', 'etc/edge-agent/hub-ca.crt', 'etc/systemd/system/edge-agent.service', 'opt/edge-agent/node_modules/edge-sync-agent/package.json'];
    const before = files.map((file) => statSync(at(file)).mtimeMs);
    const accounts = passwd();
    const result = await install('--tarball', tarball, '--hub', 'ws://127.0.0.1:9/', '--node', 'edge-inst-1', '--token-file', tokenFile);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/already holds this tarball/);
    expect(result.stdout).toMatch(/nothing changed/);
    expect(files.map((file) => statSync(at(file)).mtimeMs)).toEqual(before);
    expect(passwd()).toBe(accounts);
    expect(existsSync(at('etc/edge-agent/config.yaml.bak'))).toBe(false);
  });

  it('a new setting rewrites the config, keeping the other settings and the old file', async () => {
    const result = await install('--hub', 'mqtt://broker.example:1883');
    expect(result.code, result.stderr).toBe(0);
    expect(parseYaml(readFileSync(at('etc/edge-agent/config.yaml'), 'utf8'))).toMatchObject({ hub: 'mqtt://broker.example:1883', node: 'edge-inst-1', localApi: '127.0.0.1:10350' });
    expect(parseYaml(readFileSync(at('etc/edge-agent/config.yaml.bak'), 'utf8'))).toMatchObject({ hub: 'ws://127.0.0.1:9/' });
  }, 60_000);

  it('--with-containerd points the agent at containerd and opens its socket to the agent group, once', async () => {
    const result = await install('--with-containerd');
    expect(result.code, result.stderr).toBe(0);
    expect(parseYaml(readFileSync(at('etc/edge-agent/config.yaml'), 'utf8'))).toMatchObject({
      hub: 'mqtt://broker.example:1883',
      node: 'edge-inst-1',
      containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock',
    });
    const gid = AS_ROOT ? passwd().split('\n').find((line) => line.startsWith('edge-agent:'))!.split(':')[3] : '0';
    const toml = readFileSync(at('etc/containerd/config.toml'), 'utf8');
    expect(toml).toContain('version = 2');
    expect(toml).toMatch(new RegExp(`\\[grpc\\]\\n  address = "/run/containerd/containerd.sock"\\n  gid = ${gid}\\n`));
    expect(toml).not.toMatch(/disabled_plugins/);
    expect(readFileSync(at('etc/systemd/system/edge-agent.service'), 'utf8')).toMatch(/^After=network-online.target containerd.service$/m);

    const again = await install('--with-containerd');
    expect(again.stdout).toMatch(/nothing changed/);
    // A later setting keeps the endpoint; a containerd config of the owner's own is left alone.
    writeFileSync(at('etc/containerd/config.toml'), 'version = 2\n# the owner\'s own\n');
    const other = await install('--metrics', '127.0.0.1:9102', '--with-containerd');
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toContain(`add gid = ${gid} under [grpc]`);
    expect(readFileSync(at('etc/containerd/config.toml'), 'utf8')).toBe('version = 2\n# the owner\'s own\n');
    const kept = await install('--metrics', '127.0.0.1:9101');
    expect(kept.code, kept.stderr).toBe(0);
    expect(parseYaml(readFileSync(at('etc/edge-agent/config.yaml'), 'utf8'))).toMatchObject({ metrics: '127.0.0.1:9101', containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock' });
  }, 60_000);

  it('--uninstall removes everything but the data, twice over; a reinstall takes the data back; --purge removes it', async () => {
    writeFileSync(at('var/lib/edge-agent/keep-me'), 'workload data');
    // What systemd's RuntimeDirectoryPreserve=yes leaves behind: the Secret volumes of stopped workloads.
    mkdirSync(at('run/edge-agent/secrets/scope/default_web_1/creds'), { recursive: true });
    writeFileSync(at('run/edge-agent/secrets/scope/default_web_1/creds/password'), 'pw');
    for (let i = 0; i < 2; i++) {
      const result = await install('--uninstall');
      expect(result.code, result.stderr).toBe(0);
      expect(existsSync(at('run/edge-agent'))).toBe(false);
      expect(result.stdout).toMatch(/its data is kept in \/var\/lib\/edge-agent/);
      expect(existsSync(at('opt/edge-agent'))).toBe(false);
      expect(existsSync(at('etc/edge-agent'))).toBe(false);
      expect(existsSync(at('etc/systemd/system/edge-agent.service'))).toBe(false);
      expect(readFileSync(at('var/lib/edge-agent/keep-me'), 'utf8')).toBe('workload data');
      if (AS_ROOT) {
        expect(passwd()).not.toMatch(/^edge-agent:/m);
        expect(readFileSync(at('etc/group'), 'utf8')).not.toMatch(/^edge-agent:/m);
      }
    }
    // Reinstall over the kept data: a new user, who gets the data.
    const again = await install('--tarball', tarball, '--hub', 'ws://127.0.0.1:9/', '--node', 'edge-inst-1', '--token-file', tokenFile);
    expect(again.code, again.stderr).toBe(0);
    if (AS_ROOT) {
      const uid = Number(passwd().split('\n').find((line) => line.startsWith('edge-agent:'))!.split(':')[2]);
      expect(statSync(at('var/lib/edge-agent/keep-me')).uid).toBe(uid);
    }
    const purge = await install('--purge');
    expect(purge.code, purge.stderr).toBe(0);
    expect(existsSync(at('var/lib/edge-agent'))).toBe(false);
    expect(existsSync(at('opt/edge-agent'))).toBe(false);
  }, 240_000);
});
