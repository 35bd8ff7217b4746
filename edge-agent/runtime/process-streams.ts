/**
 * RuntimeStreams for the process runtime, from what it keeps on disk: each Pod's state file
 * (pod-state.ts: container records, the running instance's pid and process group) and log files
 * (pod-layout.ts), read on each request, so nothing here reaches into the runtime's workers.
 *
 * - logs: `<c>.log.<n> ... <c>.log.1, <c>.log`, raw (no per-line times), the current instance's
 *   (log-rotator.ts keeps one set per instance). `previous` is the last terminated instance, as
 *   the kubelet picks it: while the container runs, the set before (`<c>.previous.log...`);
 *   while it waits to restart, the dead instance's own set, which is also what plain logs shows.
 * - exec: exec-process.ts (the container's env, cwd and sandbox namespaces; TTY through `script`).
 * - attach: the container's output as it is written (its stdin is /dev/null: no stdin, no TTY).
 * - stats: CPU time and resident memory of each running container's process group (/proc).
 */
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { parseKey } from '../../protocol/index.js';
import { execInContainer, settledContainerProcess } from './exec-process.js';
import { writeLogs } from './log-reader.js';
import { PodLayout } from './pod-layout.js';
import { loadPodState, type ContainerRecord, type PodState } from './pod-state.js';
import { isSameProcessAlive } from './proc-stat.js';
import { processGroupUsage } from './proc-usage.js';
import { StreamNotFoundError, StreamRequestError, type ExecOptions, type LogSelection, type PodUsage, type RuntimeStreams, type StreamTarget } from './runtime-streams.js';

/** What ProcessStreams needs of the process runtime: the Runtime contract's pods() and podUid(). */
export interface ProcessPods {
  pods(): string[];
  podUid?(key: string): string | undefined;
}

export interface ProcessStreamsOptions {
  dataDir: string;
  runtime: ProcessPods;
  /** Log files kept per container, the live one included (the runtime's logFiles). Default 5. */
  logFiles?: number;
}

function safeParseKey(key: string): { namespace: string; name: string } | undefined {
  try {
    return parseKey(key);
  } catch {
    return undefined;
  }
}

export class ProcessStreams implements RuntimeStreams {
  constructor(private readonly options: ProcessStreamsOptions) {}

  has(key: string): boolean {
    return this.options.runtime.pods().includes(key);
  }

  private state(key: string): { state: PodState; layout: PodLayout } {
    const uid = this.options.runtime.podUid?.(key);
    const parsed = safeParseKey(key);
    if (!this.has(key) || uid === undefined || !parsed) throw new StreamNotFoundError(`pod ${JSON.stringify(parsed?.name ?? key)} does not exist`);
    const layout = PodLayout.forPod(this.options.dataDir, parsed.namespace, parsed.name, uid);
    const state = loadPodState(layout.stateFile);
    if (!state || state.key !== key) throw new StreamNotFoundError(`pod ${JSON.stringify(parsed.name)} does not exist`);
    return { state, layout };
  }

  private container(key: string, container: string): { record: ContainerRecord; layout: PodLayout; pod: string } {
    const { state, layout } = this.state(key);
    const record = state.containers[container];
    const pod = safeParseKey(key)?.name ?? key;
    if (!record) throw new StreamNotFoundError(`container ${JSON.stringify(container)} in pod ${JSON.stringify(pod)} is not available`);
    return { record, layout, pod };
  }

  async logs(key: string, container: string, options: { previous: boolean }): Promise<LogSelection> {
    const { record, layout, pod } = this.container(key, container);
    if (options.previous && !record.last) throw new StreamRequestError(`previous terminated container ${JSON.stringify(container)} in pod ${JSON.stringify(pod)} not found`);
    const running = record.running;
    const alive = (): boolean => running !== undefined && isSameProcessAlive(running.pid, running.startTicks);
    const live = options.previous && alive() ? layout.previousLogFile(container) : layout.logFile(container);
    const files: string[] = [];
    for (let index = (this.options.logFiles ?? 5) - 1; index >= 1; index--) if (existsSync(`${live}.${index}`)) files.push(`${live}.${index}`);
    if (existsSync(live)) files.push(live);
    if (files.length === 0) {
      const why = record.waiting?.reason ?? 'ContainerCreating';
      throw new StreamRequestError(`container ${JSON.stringify(container)} in pod ${JSON.stringify(pod)} is waiting to start: ${why}`);
    }
    return { files, format: 'raw', copyTruncate: true, running: () => !options.previous && alive() };
  }

  private runningPid(key: string, container: string): number {
    const { record, pod } = this.container(key, container);
    const running = record.running;
    if (!running || !isSameProcessAlive(running.pid, running.startTicks)) throw new StreamRequestError(`container ${JSON.stringify(container)} in pod ${JSON.stringify(pod)} is not running`);
    return running.pid;
  }

  async exec(key: string, container: string, command: string[], options: ExecOptions): Promise<StreamTarget> {
    const target = await settledContainerProcess(this.runningPid(key, container));
    return { kind: 'local', session: execInContainer({ target, command, tty: options.tty, stdin: options.stdin }) };
  }

  async attach(key: string, container: string, options: ExecOptions): Promise<StreamTarget> {
    const { pod } = this.container(key, container);
    if (options.stdin || options.tty) {
      throw new StreamRequestError(`container ${JSON.stringify(container)} in pod ${JSON.stringify(pod)} runs without stdin and without a TTY (process runtime): attach without -i and -t`);
    }
    this.runningPid(key, container);
    const selection = await this.logs(key, container, { previous: false });
    const stdout = new PassThrough();
    const abort = new AbortController();
    const exited = writeLogs(selection, { follow: true, tailLines: 0, timestamps: false }, stdout, abort.signal)
      .catch(() => undefined)
      .then(() => {
        stdout.end();
        return { exitCode: 0 };
      });
    return { kind: 'local', session: { stdout, resize: () => {}, exited, kill: () => abort.abort() } };
  }

  async stats(): Promise<PodUsage[]> {
    const pods: Array<{ state: PodState; running: Array<{ name: string; pgid: number; startedAt: number }> }> = [];
    for (const key of this.options.runtime.pods()) {
      let state: PodState;
      try {
        state = this.state(key).state;
      } catch {
        continue;
      }
      const running = Object.values(state.containers)
        .filter((record) => record.running && isSameProcessAlive(record.running.pid, record.running.startTicks))
        .map((record) => ({ name: record.name, pgid: record.running!.pgid, startedAt: record.running!.startedAt }));
      pods.push({ state, running });
    }
    const usage = processGroupUsage(new Set(pods.flatMap((pod) => pod.running.map((c) => c.pgid))));
    return pods.map(({ state, running }) => {
      const parsed = safeParseKey(state.key);
      return {
        namespace: parsed?.namespace ?? '',
        name: parsed?.name ?? '',
        uid: state.uid,
        startTime: state.startTime ?? state.firstSeen,
        containers: running.map((container) => {
          const group = usage.get(container.pgid);
          return {
            name: container.name,
            startTime: container.startedAt,
            cpuUsageCoreNanoSeconds: group?.cpuNs ?? 0,
            // Without a cgroup of its own a process group's working set is its resident memory.
            memoryWorkingSetBytes: group?.rssBytes ?? 0,
            memoryUsageBytes: group?.rssBytes ?? 0,
            memoryRssBytes: group?.rssBytes ?? 0,
          };
        }),
      };
    });
  }
}
