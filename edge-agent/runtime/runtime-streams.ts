/**
 * What the kubelet API (edge-agent/kubelet-api/) needs from a pod runtime beyond the
 * reconciler's `Runtime` contract: where a container's logs are, a command run in a container
 * (exec), its output stream (attach), and resource usage (stats). Each runtime implements it in
 * its own file (process-streams.ts, cri/cri-streams.ts); `RuntimeStreamsRouter` puts both
 * behind one, like RuntimeRouter does for the reconciler.
 *
 * Callers pass Pod keys and container names they have validated (protocol/object-names.ts);
 * implementations still build every path with safeJoin/PodLayout.
 */
import type { Readable, Writable } from 'node:stream';

/** The Pod or container is not one this runtime has: the API answers 404 with the message. */
export class StreamNotFoundError extends Error {
  override readonly name = 'StreamNotFoundError';
}

/** The request cannot be served (no previous instance, TTY unsupported...): 400 with the message. */
export class StreamRequestError extends Error {
  override readonly name = 'StreamRequestError';
}

/** A container's log files. */
export interface LogSelection {
  /** Oldest first; the last is the one being written while the container runs. */
  files: string[];
  /**
   * `cri`: the CRI log format (`<RFC3339Nano> <stream> <P|F> <content>`), per-line times.
   * `raw`: stdout and stderr bytes as the process wrote them (process runtime), no per-line times.
   */
  format: 'cri' | 'raw';
  /**
   * Copy-then-truncate rotation (process runtime): when the live file shrinks, what was read
   * so far is at the start of `<live>.1`. CRI rotation renames the file instead.
   */
  copyTruncate: boolean;
  /** Whether the container instance writing the last file still runs (following stops when not). */
  running(): boolean | Promise<boolean>;
}

export interface ExecOptions {
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface ExitResult {
  exitCode: number;
  /** Why the command could not run at all (not found, not executable): reported as an error. */
  error?: string;
}

/** A command running for a client, in the container's environment. */
export interface ExecSession {
  /** Present when stdin was requested. */
  stdin?: Writable;
  stdout?: Readable;
  /** Absent with a TTY (stderr is merged into the terminal). */
  stderr?: Readable;
  /** Terminal size, with a TTY; ignored otherwise. */
  resize(width: number, height: number): void;
  exited: Promise<ExitResult>;
  /** Ends the command (client gone). */
  kill(): void;
}

/**
 * Where a stream is served: by the agent (a local session), or by the container runtime's own
 * streaming server (CRI Exec/Attach return a URL there), to which the request is proxied as it is.
 */
export type StreamTarget = { kind: 'local'; session: ExecSession } | { kind: 'proxy'; url: string };

export interface ContainerUsage {
  name: string;
  /** ms since the epoch. */
  startTime: number;
  /** Cumulative CPU time, ns. */
  cpuUsageCoreNanoSeconds: number;
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
  memoryRssBytes: number;
}

export interface PodUsage {
  namespace: string;
  name: string;
  uid: string;
  /** ms since the epoch. */
  startTime: number;
  containers: ContainerUsage[];
}

export interface RuntimeStreams {
  /** Whether this runtime has the Pod (`Pod/ns/name`). */
  has(key: string): boolean;
  /** The log files of the container's current instance, or with `previous` of its last terminated one. */
  logs(key: string, container: string, options: { previous: boolean }): Promise<LogSelection>;
  exec(key: string, container: string, command: string[], options: ExecOptions): Promise<StreamTarget>;
  attach(key: string, container: string, options: ExecOptions): Promise<StreamTarget>;
  /** Usage of every running container of the Pods this runtime has, sampled now. */
  stats(): Promise<PodUsage[]>;
}

/** Both runtimes behind one: a Pod is served by whichever has it. */
export class RuntimeStreamsRouter implements RuntimeStreams {
  constructor(private readonly runtimes: readonly RuntimeStreams[]) {}

  private owner(key: string): RuntimeStreams {
    const found = this.runtimes.find((runtime) => runtime.has(key));
    if (!found) throw new StreamNotFoundError(`pod ${JSON.stringify(key.split('/')[2] ?? key)} does not exist`);
    return found;
  }

  has(key: string): boolean {
    return this.runtimes.some((runtime) => runtime.has(key));
  }

  logs(key: string, container: string, options: { previous: boolean }): Promise<LogSelection> {
    return this.owner(key).logs(key, container, options);
  }

  exec(key: string, container: string, command: string[], options: ExecOptions): Promise<StreamTarget> {
    return this.owner(key).exec(key, container, command, options);
  }

  attach(key: string, container: string, options: ExecOptions): Promise<StreamTarget> {
    return this.owner(key).attach(key, container, options);
  }

  async stats(): Promise<PodUsage[]> {
    const all = await Promise.all(this.runtimes.map((runtime) => runtime.stats().catch(() => [] as PodUsage[])));
    return all.flat();
  }
}
