/**
 * A private image registry for a test: Debian's docker-registry (the distribution `registry:2`
 * binary) on a free loopback port, over plain HTTP, with htpasswd (bcrypt) users and a temporary
 * storage directory. Images are pushed into it from OCI archives with skopeo, which keeps their
 * manifests byte for byte, so the digest a pull reports is the archive's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { findCommand, requireTools, runTool, type SystemTool } from './system-tools.js';
import { waitFor } from './wait.js';

export const REGISTRY_TOOLS: readonly SystemTool[] = [
  { command: 'docker-registry', pkg: 'docker-registry' },
  { command: 'htpasswd', pkg: 'apache2-utils' },
  { command: 'skopeo', pkg: 'skopeo' },
];

export interface RegistryUser {
  name: string;
  password: string;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export class Registry {
  /** 127.0.0.1:PORT, the registry part of image references. */
  host = '';
  /** The registry's log lines (the last 5,000). */
  readonly output: string[] = [];
  private child?: ChildProcess;
  private exited?: Promise<unknown>;

  private constructor(
    readonly dir: string,
    readonly users: readonly RegistryUser[],
  ) {}

  /** Starts a registry that answers only `users` (at least one). */
  static async start(users: readonly RegistryUser[]): Promise<Registry> {
    requireTools('registry tests', REGISTRY_TOOLS);
    if (users.length === 0) throw new Error('a test registry needs at least one user');
    const registry = new Registry(mkdtempSync(path.join(tmpdir(), 'edge-registry-')), users);
    try {
      await registry.launch();
    } catch (err) {
      await registry.stop();
      throw err;
    }
    return registry;
  }

  private async launch(): Promise<void> {
    const lines: string[] = [];
    for (const user of this.users) {
      if (user.name.includes(':')) throw new Error(`registry user names cannot contain ':': ${user.name}`);
      // -B: bcrypt, the only hash distribution's htpasswd accepts.
      const result = await runTool('htpasswd', ['-Bbn', user.name, user.password]);
      if (result.code !== 0) throw new Error(`htpasswd failed: ${result.stderr}`);
      lines.push(result.stdout.trim());
    }
    const htpasswd = path.join(this.dir, 'htpasswd');
    writeFileSync(htpasswd, `${lines.join('\n')}\n`, { mode: 0o600 });
    const config = path.join(this.dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: info',
        '  formatter: text',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${JSON.stringify(path.join(this.dir, 'storage'))}`,
        '  delete:',
        '    enabled: true',
        'http:',
        // Port 0 works: the registry logs the port it bound ("listening on 127.0.0.1:PORT").
        '  addr: 127.0.0.1:0',
        'auth:',
        '  htpasswd:',
        '    realm: edge-test',
        `    path: ${JSON.stringify(htpasswd)}`,
        '',
      ].join('\n'),
    );
    const child = spawn(findCommand('docker-registry')!, ['serve', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // A fixed secret keeps it from warning that it generated one.
      env: { ...process.env, REGISTRY_HTTP_SECRET: 'edge-test-registry' },
    });
    this.child = child;
    this.exited = once(child, 'exit');
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.output.push(line);
        if (this.output.length > 5_000) this.output.shift();
      });
    }
    const listening = await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) return 'exited';
        for (const line of this.output) {
          const match = /listening on (127\.0\.0\.1:\d+)/.exec(line);
          if (match) return match[1]!;
        }
        return undefined;
      },
      { timeoutMs: 20_000, what: 'docker-registry to listen' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.output.slice(-20).join('\n')}`);
    });
    if (listening === 'exited') throw new Error(`docker-registry exited at start:\n${this.output.slice(-20).join('\n')}`);
    this.host = listening;
    // Up when /v2/ asks for credentials.
    await waitFor(async () => (await fetch(`http://${this.host}/v2/`)).status === 401, { timeoutMs: 10_000, what: `registry ${this.host} to answer /v2/` });
  }

  /** `repository:tag` as a full reference to this registry. */
  reference(repositoryTag: string): string {
    return `${this.host}/${repositoryTag}`;
  }

  /** Copies an OCI archive into the registry as `repository:tag`; returns the full reference. */
  async push(archive: string, repositoryTag: string, user: RegistryUser = this.users[0]!): Promise<string> {
    const reference = this.reference(repositoryTag);
    const result = await runTool(
      'skopeo',
      // --insecure-policy: no /etc/containers/policy.json needed; the source is our own archive.
      ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `${user.name}:${user.password}`, `oci-archive:${archive}`, `docker://${reference}`],
      { env: { TMPDIR: this.dir }, timeoutMs: 120_000 },
    );
    if (result.code !== 0) throw new Error(`skopeo copy ${archive} to ${reference} failed (exit ${result.code}): ${result.stderr.trim()}`);
    return reference;
  }

  /** The manifest digest the registry serves for `repository:tag`, as a pull would see it. */
  async manifestDigest(repositoryTag: string, user: RegistryUser = this.users[0]!): Promise<string> {
    const separator = repositoryTag.lastIndexOf(':');
    const repository = repositoryTag.slice(0, separator);
    const tag = repositoryTag.slice(separator + 1);
    const response = await fetch(`http://${this.host}/v2/${repository}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { accept: MANIFEST_TYPES, authorization: `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}` },
    });
    const digest = response.headers.get('docker-content-digest');
    if (response.status !== 200 || !digest) throw new Error(`HEAD manifest ${repositoryTag}: HTTP ${response.status}`);
    return digest;
  }

  /** Stops the registry (SIGTERM, SIGKILL after 10 s) and deletes its storage. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
