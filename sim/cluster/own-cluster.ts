/**
 * The cluster the simulator starts when no hub is given: the embedded API (`cloud-hub
 * apiserver`, unless a kubeconfig names a cluster) and a hub (`cloud-hub --kubeconfig`), each
 * its own process, so the hub's RSS and CPU are its own and its sockets do not count against
 * the simulator's open-files limit. The hub can be killed with SIGKILL and restarted on the
 * same ports (the storm and chaos scenarios), and the API stopped and restarted on the same
 * port and data directory (chaos); MQTT goes through the hub's embedded broker.
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BINARIES } from '../launch/binaries.js';
import { launch, type ManagedProcess } from '../launch/managed-process.js';
import { hubReady } from '../metrics/hub-metrics.js';

export type Transport = 'ws' | 'mqtt';

export interface OwnClusterOptions {
  /** A cluster to serve; without it the embedded API is started. */
  kubeconfig?: string;
  transport: Transport;
  /** Extra `cloud-hub` flags (after the simulator's defaults, so they win). */
  hubArgs: readonly string[];
  /** Write a V8 CPU profile of each hub process and of the own embedded API here (node --cpu-prof). */
  cpuProfDir?: string;
  /** Keep every process's log here: `apiserver-1.log`, `cloud-hub-1.log`, `cloud-hub-2.log` after a restart, ... */
  logDir?: string;
  hubReadyTimeoutMs?: number;
  /** The `cloud-hub` script the API server and the hub run (default: dist/cloud-hub/main.js). */
  hubBin?: string;
}

/**
 * Defaults for a simulated fleet: heartbeats every 30 s keep Lease renewals of 10,000 nodes
 * at ~330 writes/s, and a higher API write rate lets 10,000 Node registrations finish in
 * seconds rather than the production default's minute. Every virtual agent connects from
 * 127.0.0.1, where a real fleet comes from many addresses: no per-address pending cap.
 */
export const SIM_HUB_DEFAULTS = ['--heartbeat-interval', '30000', '--api-qps', '2000', '--max-pending-per-address', '0'];

export class OwnCluster {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'edge-sim-cluster-'));
  api?: ManagedProcess;
  hub?: ManagedProcess;
  kubeconfig = '';
  hubUrl = '';
  metricsUrl = '';
  /** Wall-clock ms when the current hub process answered /readyz. */
  hubReadyAt = 0;
  /** Wall-clock ms when the current API process said it was ready. */
  apiReadyAt = 0;
  private ports: { ws: number; metrics: number; mqtt: number } = { ws: 0, metrics: 0, mqtt: 0 };
  private apiPort = 0;
  private readonly logStarts = new Map<string, number>();
  private readonly logStreams: WriteStream[] = [];
  private hubStarts = 0;
  /** Every process started, from its spawn on: one still starting when the run stops must stop too. */
  private readonly processes = new Set<ManagedProcess>();
  private readonly track = (proc: ManagedProcess): void => {
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
  };

  constructor(private readonly options: OwnClusterOptions) {}

  get ownsApi(): boolean {
    return this.api !== undefined;
  }

  /** The API first: tokens and the workload are written before the hub lists them. */
  async startApi(): Promise<void> {
    if (this.options.kubeconfig) {
      this.kubeconfig = this.options.kubeconfig;
    } else {
      const data = path.join(this.dir, 'api');
      this.api = await launch(this.options.hubBin ?? BINARIES.cloudHub, ['apiserver', '--data', data, '--listen', `127.0.0.1:${this.apiPort}`], {
        env: { LOG_LEVEL: 'info' },
        nodeArgs: this.cpuProfArgs('apiserver'),
        name: 'apiserver',
        keepLines: 1_000,
        onSpawn: this.track,
        ...this.logTo('apiserver'),
      });
      const ready = this.api.logs.find((line) => line.msg === 'ready')!;
      this.apiPort = portOf(String(ready.api));
      this.apiReadyAt = Date.now();
      this.kubeconfig = path.join(data, 'kubeconfig');
    }
  }

  /**
   * Stops the embedded API (`signal`: SIGTERM lets it finish its requests, SIGKILL does not),
   * waits `downMs`, and starts it again on the same port and data directory, so the hub and the
   * simulator's clients reconnect with the kubeconfig they have.
   */
  async restartApi(signal: 'SIGTERM' | 'SIGKILL', downMs: number): Promise<void> {
    if (!this.api) throw new Error('the API is not the simulator\'s own (--kubeconfig was given): it cannot be restarted');
    await this.api.stop(signal, 15_000);
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await retryStart(() => this.startApi());
  }

  /** kill -9 the hub, wait `downMs`, start it again on the same ports and wait until it is ready. */
  async restartHub(downMs: number): Promise<void> {
    await this.killHub();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await retryStart(() => this.startHub());
  }

  /** `node --cpu-prof` arguments for a process called `name`, with --hub-cpu-prof (none without). */
  private cpuProfArgs(name: string): string[] {
    if (!this.options.cpuProfDir) return [];
    mkdirSync(this.options.cpuProfDir, { recursive: true });
    return ['--cpu-prof', `--cpu-prof-dir=${this.options.cpuProfDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`];
  }

  /** Starts the hub (again, on the same ports after the first time) and waits until it is ready. */
  async startHub(): Promise<void> {
    this.hubStarts += 1;
    const nodeArgs = this.cpuProfArgs(`hub-${this.hubStarts}`);
    const args = [
      '--kubeconfig',
      this.kubeconfig,
      '--listen',
      `127.0.0.1:${this.ports.ws}`,
      '--metrics',
      `127.0.0.1:${this.ports.metrics}`,
      '--log-level',
      'info',
      ...(this.options.transport === 'mqtt' ? ['--embedded-broker', `127.0.0.1:${this.ports.mqtt}`] : []),
      ...SIM_HUB_DEFAULTS,
      ...this.options.hubArgs,
    ];
    // Bound ('listening'), not yet ready: a large cluster takes a while to list; /readyz below waits for it.
    this.hub = await launch(this.options.hubBin ?? BINARIES.cloudHub, args, { name: 'cloud-hub', nodeArgs, keepLines: 1_000, timeoutMs: 60_000, ready: (line) => line.msg === 'listening', onSpawn: this.track, ...this.logTo('cloud-hub') });
    const ready = this.hub.logs.find((line) => line.msg === 'listening')!;
    const ws = String(ready.ws);
    this.metricsUrl = String(ready.metrics);
    const mqtt = ready.mqtt === undefined ? undefined : String(ready.mqtt);
    this.ports = { ws: portOf(ws), metrics: portOf(this.metricsUrl), mqtt: mqtt ? portOf(mqtt) : 0 };
    this.hubUrl = this.options.transport === 'mqtt' && mqtt ? mqtt : ws;
    const deadline = Date.now() + (this.options.hubReadyTimeoutMs ?? 300_000);
    while (!(await hubReady(this.metricsUrl))) {
      if (!this.hub.running) throw new Error(`the hub exited before it was ready\n${this.hub.tail()}`);
      if (Date.now() > deadline) throw new Error(`the hub did not list the cluster within ${this.options.hubReadyTimeoutMs ?? 300_000} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.hubReadyAt = Date.now();
  }

  /** kill -9: no shutdown, no goodbye to the nodes. */
  async killHub(): Promise<void> {
    await this.hub?.kill();
  }

  /** Stops the hub, then the API (SIGTERM, SIGKILL after 15 s), and any process still starting. */
  async close(): Promise<void> {
    await this.hub?.stop('SIGTERM', 15_000);
    await this.api?.stop('SIGTERM', 15_000);
    await Promise.all([...this.processes].map((proc) => proc.stop('SIGTERM', 15_000)));
    rmSync(this.dir, { recursive: true, force: true });
    await Promise.all(this.logStreams.map((stream) => new Promise((resolve) => stream.end(resolve))));
  }

  /** SIGKILL to every process still running, at once: for a simulator that must exit now. */
  killNow(): void {
    for (const proc of this.processes) if (proc.running) proc.child.kill('SIGKILL');
  }

  /** With `logDir`: a new file for this start of `name`, fed every stdout line. */
  private logTo(name: string): { onLine?: (text: string) => void } {
    const { logDir } = this.options;
    if (!logDir) return {};
    mkdirSync(logDir, { recursive: true });
    const start = (this.logStarts.get(name) ?? 0) + 1;
    this.logStarts.set(name, start);
    const stream = createWriteStream(path.join(logDir, `${name}-${start}.log`));
    this.logStreams.push(stream);
    return { onLine: (text) => void stream.write(`${text}\n`) };
  }
}

/**
 * Starting on a port just freed can fail for a moment (another socket may hold it as its local
 * port while it closes); a few tries a quarter of a second apart.
 */
async function retryStart(start: () => Promise<void>, attempts = 20): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      return;
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

function portOf(url: string): number {
  return Number(new URL(url.replace(/^ws/, 'http').replace(/^mqtt/, 'http')).port);
}
