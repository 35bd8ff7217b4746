/**
 * A real mosquitto 2.0 broker for tests, on free loopback ports, with the configuration,
 * password files and ACLs that `cloud-hub token mosquitto-auth` writes from the node tokens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { BIN, run } from './process.js';
import { waitFor } from './wait.js';

export const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

/** A port nothing listens on right now (mosquitto cannot bind port 0). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A plain broker as on a device: anonymous, no ACL, unlimited queues (the local bus). */
export class LocalBroker {
  private child?: ChildProcess;
  readonly output: string[] = [];
  port = 0;

  constructor(
    private readonly dir: string,
    /** Serve mqtts:// with these PEM files instead of mqtt://. */
    private readonly tls?: { certFile: string; keyFile: string },
  ) {}

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port ||= await freePort();
    const conf = path.join(this.dir, `local-broker-${this.port}.conf`);
    const tls = this.tls ? [`certfile ${this.tls.certFile}`, `keyfile ${this.tls.keyFile}`] : [];
    writeFileSync(conf, [`listener ${this.port} 127.0.0.1`, ...tls, `user ${userInfo().username}`, 'allow_anonymous true', 'max_queued_messages 0', 'log_dest stdout', ''].join('\n'));
    this.child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    await waitFor(() => accepts(this.port), { timeoutMs: 10_000, what: `local broker on port ${this.port}` });
    return this;
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await once(this.child, 'exit');
  }
}

export interface MosquittoOptions {
  /**
   * Run as production does: started as root, mosquitto drops to user "mosquitto" and reads the
   * files `token mosquitto-auth --owner mosquitto` wrote (in a directory that user can search).
   * Otherwise it keeps the test's user and reads the test's private directory.
   */
  asMosquittoUser?: boolean;
  /** The broker configuration instead of the generated one (the deploy overlay's), given where things are. */
  conf?: (where: { authDir: string; nodePort: number; hubPort: number }) => string;
}

/**
 * A mosquitto for the fleet, configured by `cloud-hub token mosquitto-auth --conf`: nodes on
 * `port` (client id = user name), the hub alone on `hubPort`.
 */
export class Mosquitto {
  private child?: ChildProcess;
  readonly output: string[] = [];
  port = 0;
  hubPort = 0;
  readonly hubUser = '_cloud-hub';
  readonly hubPassword = 'hub-broker-secret';
  readonly hubPasswordFile: string;
  readonly authDir: string;
  private readonly generatedConf: string;
  private readonly confFile: string;
  private readonly dataDir: string;

  constructor(
    private readonly dir: string,
    private readonly kubeconfig: string,
    private readonly options: MosquittoOptions = {},
  ) {
    this.hubPasswordFile = path.join(dir, 'hub-broker-password');
    // The broker's user must be able to search every folder above its files.
    this.authDir = options.asMosquittoUser ? mkdtempSync(path.join(tmpdir(), 'edge-mosquitto-')) : path.join(dir, 'mosquitto-auth');
    if (options.asMosquittoUser) chmodSync(this.authDir, 0o755);
    this.generatedConf = path.join(dir, 'mosquitto-generated.conf');
    this.confFile = path.join(dir, 'mosquitto.conf');
    this.dataDir = path.join(dir, 'mosquitto-data');
    mkdirSync(this.dataDir, { recursive: true });
    writeFileSync(this.hubPasswordFile, `${this.hubPassword}\n`, { mode: 0o600 });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Where agents connect. */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The hub's own listener. */
  get hubUrl(): string {
    return `mqtt://127.0.0.1:${this.hubPort}`;
  }

  /** The --mqtt arguments for a hub using this broker. */
  hubArgs(): string[] {
    return ['--mqtt', `mqtt://${this.hubUser}@127.0.0.1:${this.hubPort}`, '--mqtt-password-file', this.hubPasswordFile];
  }

  /** Writes credentials and configuration from the current tokens (through the real CLI). */
  async writeAuth(): Promise<void> {
    const result = await run(process.execPath, [
      BIN.cloudHub,
      'token',
      'mosquitto-auth',
      '--kubeconfig',
      this.kubeconfig,
      '--dir',
      this.authDir,
      '--hub-password-file',
      this.hubPasswordFile,
      '--conf',
      this.generatedConf,
      '--node-listener',
      `127.0.0.1:${this.port}`,
      '--hub-listener',
      `127.0.0.1:${this.hubPort}`,
      ...(this.options.asMosquittoUser ? ['--owner', 'mosquitto'] : []),
    ]);
    if (result.code !== 0) throw new Error(`mosquitto-auth failed: ${result.stderr}`);
  }

  async start(): Promise<this> {
    this.port ||= await freePort();
    this.hubPort ||= await freePort();
    await this.writeAuth();
    const broker = this.options.conf
      ? this.options.conf({ authDir: this.authDir, nodePort: this.port, hubPort: this.hubPort })
      : readFileSync(this.generatedConf, 'utf8');
    const test = [
      // Run as root, mosquitto drops to user "mosquitto", which cannot search the test's 0700 folder.
      ...(this.options.asMosquittoUser ? [] : [`user ${userInfo().username}`, 'persistence true', `persistence_location ${this.dataDir}/`]),
      // stderr: mosquitto block-buffers stdout into a pipe, so a log line there comes late or never.
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
    ];
    writeFileSync(this.confFile, [...test, broker].join('\n'));
    this.child = spawn(MOSQUITTO, ['-c', this.confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    try {
      await waitFor(async () => (await accepts(this.port)) && (await accepts(this.hubPort)), { timeoutMs: 10_000, what: `mosquitto on ports ${this.port} and ${this.hubPort}` });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.output.join('')}`);
    }
    return this;
  }

  /** New tokens: rewrite the files and make mosquitto reread them. */
  async reload(): Promise<void> {
    await this.writeAuth();
    this.child?.kill('SIGHUP');
    await waitFor(() => this.output.join('').includes('Reloading config'), { what: 'mosquitto reload' });
    this.output.length = 0;
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await once(this.child, 'exit');
    }
    if (this.options.asMosquittoUser) rmSync(this.authDir, { recursive: true, force: true });
  }

  async kill(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await once(this.child, 'exit');
  }

  async restart(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await once(this.child, 'exit');
    }
    await this.start();
  }
}
