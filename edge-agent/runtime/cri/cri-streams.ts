/**
 * RuntimeStreams for the CRI runtime, asking the container runtime itself (its own gRPC channel,
 * opened on first use; nothing here reaches into CriRuntime's workers):
 *
 * - logs: the container's `logPath` from ContainerStatus (CRI log format) and its rotated files
 *   (`<n>.log.<timestamp>`, cri-logs.ts); `previous` is the instance before the newest (its own file).
 * - exec, attach: CRI Exec / Attach return a URL on the runtime's streaming server, where the
 *   kubelet API replays the client's request (stream-proxy.ts): WebSocket or SPDY, whatever the
 *   streaming server speaks.
 * - stats: ListContainerStats of the node's containers (this agent's labels), start times from
 *   ListContainers (createdAt).
 *
 * Containers are found by the labels the CRI runtime gives them (cri-config.ts): the Pod's uid,
 * the container's name, and this agent's owner labels, so another node's containers on a shared
 * runtime are never served.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseKey } from '../../../protocol/index.js';
import { isWithin } from '../safe-path.js';
import { StreamNotFoundError, StreamRequestError, type ExecOptions, type LogSelection, type PodUsage, type RuntimeStreams, type StreamTarget } from '../runtime-streams.js';
import { CriClient } from './cri-client.js';
import { CONTAINER_NAME_LABEL, POD_NAMESPACE_LABEL, POD_NAME_LABEL, POD_UID_LABEL, ownerLabels } from './cri-config.js';
import type { Container } from './cri-types.js';

export interface CriStreamsOptions {
  endpoint: string;
  /** The CRI runtime's pods() and podUid(). */
  runtime: { pods(): string[]; podUid?(key: string): string | undefined };
  nodeName: string;
  /** Root of the containers' logs (the CRI runtime's logDir): a logPath outside it is never read. */
  logDir: string;
}

function nameOf(key: string): string {
  try {
    return parseKey(key).name;
  } catch {
    return key;
  }
}

export class CriStreams implements RuntimeStreams {
  private client: Promise<CriClient> | undefined;

  constructor(private readonly options: CriStreamsOptions) {}

  private connect(): Promise<CriClient> {
    this.client ??= CriClient.connect(this.options.endpoint);
    return this.client;
  }

  close(): void {
    void this.client?.then((client) => client.close(), () => undefined);
  }

  has(key: string): boolean {
    return this.options.runtime.pods().includes(key);
  }

  /** The container's instances, newest first. */
  private async instances(key: string, container: string): Promise<Container[]> {
    const uid = this.options.runtime.podUid?.(key);
    if (!this.has(key) || uid === undefined) throw new StreamNotFoundError(`pod ${JSON.stringify(nameOf(key))} does not exist`);
    const client = await this.connect();
    const found = await client.listContainers({ labelSelector: { [POD_UID_LABEL]: uid, [CONTAINER_NAME_LABEL]: container, ...ownerLabels(this.options.nodeName) } });
    return found.sort((a, b) => b.metadata.attempt - a.metadata.attempt || b.createdAt - a.createdAt);
  }

  async logs(key: string, container: string, options: { previous: boolean }): Promise<LogSelection> {
    const instances = await this.instances(key, container);
    const pod = nameOf(key);
    const chosen = options.previous ? instances[1] : instances[0];
    if (!chosen) {
      if (options.previous) throw new StreamRequestError(`previous terminated container ${JSON.stringify(container)} in pod ${JSON.stringify(pod)} not found`);
      throw new StreamRequestError(`container ${JSON.stringify(container)} in pod ${JSON.stringify(pod)} is waiting to start: ContainerCreating`);
    }
    const client = await this.connect();
    const status = await client.containerStatus(chosen.id);
    const live = status.logPath;
    if (!live || !path.isAbsolute(live) || !isWithin(path.resolve(this.options.logDir), path.resolve(live))) {
      throw new StreamRequestError(`container ${JSON.stringify(container)} in pod ${JSON.stringify(pod)} has no log under the agent's log directory`);
    }
    const base = path.basename(live);
    let rotated: string[] = [];
    try {
      rotated = readdirSync(path.dirname(live))
        .filter((name) => name.startsWith(`${base}.`))
        .sort()
        .map((name) => path.join(path.dirname(live), name));
    } catch {
      // no directory yet: no file either
    }
    return {
      files: [...rotated, live],
      format: 'cri',
      copyTruncate: false,
      running: async () => {
        if (options.previous) return false;
        try {
          return (await client.containerStatus(chosen.id)).state === 'CONTAINER_RUNNING';
        } catch {
          return false;
        }
      },
    };
  }

  private async running(key: string, container: string): Promise<Container> {
    const [current] = await this.instances(key, container);
    if (!current || current.state !== 'CONTAINER_RUNNING') throw new StreamRequestError(`container ${JSON.stringify(container)} in pod ${JSON.stringify(nameOf(key))} is not running`);
    return current;
  }

  async exec(key: string, container: string, command: string[], options: ExecOptions): Promise<StreamTarget> {
    const current = await this.running(key, container);
    const url = await (await this.connect()).exec({ containerId: current.id, cmd: command, ...options });
    return { kind: 'proxy', url };
  }

  async attach(key: string, container: string, options: ExecOptions): Promise<StreamTarget> {
    const current = await this.running(key, container);
    const url = await (await this.connect()).attach({ containerId: current.id, ...options });
    return { kind: 'proxy', url };
  }

  async stats(): Promise<PodUsage[]> {
    if (this.options.runtime.pods().length === 0) return [];
    const client = await this.connect();
    const mine = ownerLabels(this.options.nodeName);
    const [stats, containers] = await Promise.all([client.listContainerStats({ labelSelector: mine }), client.listContainers({ labelSelector: mine, state: { state: 'CONTAINER_RUNNING' } })]);
    const created = new Map(containers.map((c) => [c.id, c.createdAt / 1e6]));
    const pods = new Map<string, PodUsage>();
    for (const stat of stats) {
      const labels = stat.attributes.labels;
      const uid = labels[POD_UID_LABEL];
      const startTime = created.get(stat.attributes.id);
      // Only running containers are reported, as the kubelet's summary does.
      if (!uid || startTime === undefined) continue;
      let pod = pods.get(uid);
      if (!pod) {
        pod = { namespace: labels[POD_NAMESPACE_LABEL] ?? '', name: labels[POD_NAME_LABEL] ?? '', uid, startTime, containers: [] };
        pods.set(uid, pod);
      }
      pod.startTime = Math.min(pod.startTime, startTime);
      pod.containers.push({
        name: labels[CONTAINER_NAME_LABEL] ?? stat.attributes.metadata.name,
        startTime,
        cpuUsageCoreNanoSeconds: stat.cpu?.usageCoreNanoSeconds?.value ?? 0,
        memoryWorkingSetBytes: stat.memory?.workingSetBytes?.value ?? 0,
        memoryUsageBytes: stat.memory?.usageBytes?.value ?? 0,
        memoryRssBytes: stat.memory?.rssBytes?.value ?? 0,
      });
    }
    return [...pods.values()];
  }
}
