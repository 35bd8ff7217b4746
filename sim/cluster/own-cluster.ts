/**
 * The cluster the simulator starts when no hub is given: the embedded API (`cloud-hub
 * apiserver`, unless a kubeconfig names a cluster) and a hub (`cloud-hub --kubeconfig`), each
 * its own process, so the hub's RSS and CPU are its own and its sockets do not count against
 * the simulator's open-files limit. The hub can be killed with SIGKILL and restarted on the
 * same ports (the storm scenario); MQTT goes through the hub's embedded broker.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
  /** Write a V8 CPU profile of each hub process here (node --cpu-prof). */
  cpuProfDir?: string;
  hubReadyTimeoutMs?: number;
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
  private ports: { ws: number; metrics: number; mqtt: number } = { ws: 0, metrics: 0, mqtt: 0 };
  private hubStarts = 0;

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
      this.api = await launch(BINARIES.cloudHub, ['apiserver', '--data', data, '--listen', '127.0.0.1:0'], {
        env: { LOG_LEVEL: 'info' },
        name: 'apiserver',
        keepLines: 1_000,
      });
      this.kubeconfig = path.join(data, 'kubeconfig');
    }
  }

  /** Starts the hub (again, on the same ports after the first time) and waits until it is ready. */
  async startHub(): Promise<void> {
    this.hubStarts += 1;
    const nodeArgs: string[] = [];
    if (this.options.cpuProfDir) {
      mkdirSync(this.options.cpuProfDir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${this.options.cpuProfDir}`, `--cpu-prof-name=hub-${this.hubStarts}-${Date.now()}.cpuprofile`);
    }
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
    this.hub = await launch(BINARIES.cloudHub, args, { name: 'cloud-hub', nodeArgs, keepLines: 1_000, timeoutMs: 60_000, ready: (line) => line.msg === 'listening' });
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

  async close(): Promise<void> {
    await this.hub?.stop('SIGTERM', 15_000);
    await this.api?.stop('SIGTERM', 15_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function portOf(url: string): number {
  return Number(new URL(url.replace(/^ws/, 'http').replace(/^mqtt/, 'http')).port);
}
