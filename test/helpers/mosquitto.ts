/**
 * A real mosquitto 2.0 broker for tests, on a free loopback port, with the password file and
 * ACL that `cloud-hub token mosquitto-auth` writes from the node tokens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
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

export class Mosquitto {
  private child?: ChildProcess;
  readonly output: string[] = [];
  port = 0;
  readonly hubUser = '_cloud-hub';
  readonly hubPasswordFile: string;
  private readonly passwordFile: string;
  private readonly aclFile: string;
  private readonly confFile: string;

  constructor(private readonly dir: string, private readonly kubeconfig: string) {
    this.hubPasswordFile = path.join(dir, 'hub-broker-password');
    this.passwordFile = path.join(dir, 'mosquitto.passwd');
    this.aclFile = path.join(dir, 'mosquitto.acl');
    this.confFile = path.join(dir, 'mosquitto.conf');
    writeFileSync(this.hubPasswordFile, 'hub-broker-secret\n', { mode: 0o600 });
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The --mqtt arguments for a hub using this broker. */
  hubArgs(): string[] {
    return ['--mqtt', `mqtt://${this.hubUser}@127.0.0.1:${this.port}`, '--mqtt-password-file', this.hubPasswordFile];
  }

  /** Writes credentials from the current tokens (through the real CLI). */
  async writeAuth(): Promise<void> {
    const result = await run(process.execPath, [
      BIN.cloudHub,
      'token',
      'mosquitto-auth',
      '--kubeconfig',
      this.kubeconfig,
      '--password-file',
      this.passwordFile,
      '--acl-file',
      this.aclFile,
      '--hub-password-file',
      this.hubPasswordFile,
    ]);
    if (result.code !== 0) throw new Error(`mosquitto-auth failed: ${result.stderr}`);
  }

  async start(): Promise<this> {
    this.port ||= await freePort();
    await this.writeAuth();
    writeFileSync(
      this.confFile,
      [
        `listener ${this.port} 127.0.0.1`,
        // Run as root, mosquitto drops to user "mosquitto", which cannot read our 0600 files.
        `user ${userInfo().username}`,
        'allow_anonymous false',
        `password_file ${this.passwordFile}`,
        `acl_file ${this.aclFile}`,
        'persistence true',
        `persistence_location ${this.dir}/`,
        'log_dest stdout',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        '',
      ].join('\n'),
    );
    this.child = spawn(MOSQUITTO, ['-c', this.confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    try {
      await waitFor(() => accepts(this.port), { timeoutMs: 10_000, what: `mosquitto on port ${this.port}` });
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
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await once(this.child, 'exit');
  }

  async kill(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await once(this.child, 'exit');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}
