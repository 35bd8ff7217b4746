/**
 * A cluster for end-to-end tests, in separate processes so each can be stopped alone: the
 * embedded API (`cloud-hub apiserver`), the hub (`cloud-hub --kubeconfig`), and agents.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TokenAdmin } from '../../cloud-hub/auth/token-admin.js';
import { KubeClient } from '../../cloud-hub/kube/kube-client.js';
import { killPodProcesses } from '../../sim/launch/pod-processes.js';
import { removeDefaultAgentCgroups } from './cgroups.js';
import { BIN, startProcess, type RunningProcess } from './process.js';
import { makeTempDir } from './tmp.js';

export interface AgentHandle {
  node: string;
  proc: RunningProcess;
  data: string;
  localApi: string;
  metrics: string;
  /** GET on the agent's local API; undefined on 404. */
  get<T = Record<string, unknown>>(apiPath: string): Promise<T | undefined>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export class TestCluster {
  readonly dir = makeTempDir('edge-e2e-');
  /** `script`: the cloud-hub script the API server and the hub run (default BIN.cloudHub, the bundle). */
  constructor(private readonly script: string = BIN.cloudHub) {}

  api!: RunningProcess;
  hub?: RunningProcess;
  hubUrl = '';
  hubMetrics = '';
  /** The MQTT broker the hub serves through (`--embedded-broker 127.0.0.1:0` binds a free port), if any. */
  hubMqtt: string | undefined;
  client!: KubeClient;
  tokens!: TokenAdmin;
  private hubPort = 0;
  /** Arguments of the last hub start, reused by restarts. */
  private hubArgs: string[] = [];
  private readonly agents: AgentHandle[] = [];
  /** The agents' Secret volumes (on tmpfs): removed by close(), as the data directories are. */
  private secretsDir: string | undefined;

  get apiDir(): string {
    return path.join(this.dir.path, 'api');
  }

  get kubeconfig(): string {
    return path.join(this.apiDir, 'kubeconfig');
  }

  /** `apiArgs`: more flags of `cloud-hub apiserver` (its control-plane durations, say). */
  async start(hubArgs: string[] = [], apiArgs: string[] = []): Promise<this> {
    this.api = await startProcess(this.script, ['apiserver', '--data', this.apiDir, '--listen', '127.0.0.1:0', ...apiArgs]);
    const config = new KubeConfig();
    config.loadFromFile(this.kubeconfig);
    this.client = new KubeClient(config);
    this.tokens = new TokenAdmin(this.client, 'edge-system');
    await this.startHub(hubArgs);
    return this;
  }

  /**
   * Starts (or restarts, on the same port) the hub; without arguments, with the last ones.
   * Waits until it is ready (every informer listed), or with `untilListening` only until it has
   * bound its ports (a hub that cannot reach the API is never ready). `freshPort` binds a new
   * port instead of the last one (which another process may have taken since the stop).
   */
  async startHub(extraArgs?: string[], options: { untilListening?: boolean; freshPort?: boolean } = {}): Promise<void> {
    if (extraArgs) this.hubArgs = extraArgs;
    const waitFor = options.untilListening ? 'listening' : 'ready';
    this.hub = await startProcess(this.script, [
      '--kubeconfig',
      this.kubeconfig,
      '--listen',
      `127.0.0.1:${options.freshPort ? 0 : this.hubPort}`,
      '--metrics',
      '127.0.0.1:0',
      '--heartbeat-interval',
      '1000',
      ...this.hubArgs,
    ], { ready: (line) => line.msg === waitFor });
    const ready = this.hub.logs.find((line) => line.msg === waitFor)!;
    this.hubUrl = ready.ws as string;
    this.hubMetrics = ready.metrics as string;
    this.hubMqtt = ready.mqtt as string | undefined;
    this.hubPort = Number(new URL(this.hubUrl.replace('ws:', 'http:')).port);
  }

  async stopHub(kill = false): Promise<void> {
    await (kill ? this.hub?.kill() : this.hub?.stop());
    this.hub = undefined;
  }

  /** A token for `node`, written to a file in the test dir. */
  async tokenFile(node: string): Promise<string> {
    const file = path.join(this.dir.path, `${node}.token`);
    writeFileSync(file, `${await this.tokens.create(node)}\n`, { mode: 0o600 });
    return file;
  }

  /** Starts an agent: dist/edge-agent/main.js, or `script` (the bundled agent, for instance). */
  async startAgent(node: string, options: { data?: string; tokenFile?: string; args?: string[]; hubUrl?: string; script?: string } = {}): Promise<AgentHandle> {
    const data = options.data ?? path.join(this.dir.path, `agent-${node}`);
    const tokenFile = options.tokenFile ?? path.join(this.dir.path, `${node}.token`);
    this.secretsDir ??= mkdtempSync('/dev/shm/edge-e2e-secrets-');
    const proc = await startProcess(options.script ?? BIN.edgeAgent, [
      '--secrets-dir',
      this.secretsDir,
      '--node',
      node,
      '--hub',
      options.hubUrl ?? this.hubUrl,
      '--data',
      data,
      '--token-file',
      tokenFile,
      '--local-api',
      '127.0.0.1:0',
      '--metrics',
      '127.0.0.1:0',
      ...(options.args ?? []),
    ]);
    const ready = proc.logs.find((line) => line.msg === 'ready')!;
    const localApi = ready.localApi as string;
    const handle: AgentHandle = {
      node,
      proc,
      data,
      localApi,
      metrics: ready.metrics as string,
      get: async <T>(apiPath: string) => {
        const res = await fetch(`${localApi}${apiPath}`);
        if (res.status === 404) return undefined;
        if (!res.ok) throw new Error(`GET ${apiPath}: ${res.status} ${await res.text()}`);
        return (await res.json()) as T;
      },
      stop: async () => void (await proc.stop()),
      kill: async () => void (await proc.kill()),
    };
    this.agents.push(handle);
    return handle;
  }

  async close(): Promise<void> {
    for (const agent of this.agents) {
      await agent.proc.stop();
      // Their Pods outlive agents by design; not the test.
      killPodProcesses(agent.data);
    }
    // Once every agent is gone (several handles may share a data directory): their cgroups.
    for (const data of new Set(this.agents.map((agent) => agent.data))) await removeDefaultAgentCgroups(data);
    await this.hub?.stop();
    this.client?.close();
    await this.api?.stop();
    this.dir.remove();
    if (this.secretsDir) rmSync(this.secretsDir, { recursive: true, force: true });
  }
}
