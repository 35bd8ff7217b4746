/**
 * A private containerd for a test: its own root, state, socket and config under a temporary
 * directory, the CRI plugin enabled for host-network pods, the test images imported into the
 * k8s.io namespace (where CRI looks), and a stop that leaves no process and no mount behind.
 *
 * Verified with Debian's containerd 1.6.20 and runc 1.1.5 on a cgroup v1 host (see
 * scripts/images/README.md for what each setting is for and what failed without it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { cgroupDirs, isAlive, killQuietly, processTable, removeCgroups, shimOf, shimSocketPath, unmountAndRemove, withDescendants, type ProcessInfo, type Shim } from './host-cleanup.js';
import { findCommand, requireTools, runTool, type SystemTool, type ToolResult } from './system-tools.js';
import type { TestImage } from './test-images.js';
import { waitFor } from './wait.js';

export const CONTAINERD_TOOLS: readonly SystemTool[] = [
  { command: 'containerd', pkg: 'containerd' },
  { command: 'containerd-shim-runc-v2', pkg: 'containerd' },
  { command: 'ctr', pkg: 'containerd' },
  { command: 'runc', pkg: 'runc' },
];

/** The containerd namespace the CRI plugin uses: images meant for Pods must be there. */
export const CRI_NAMESPACE = 'k8s.io';

/**
 * native copies every layer, and every container's root filesystem, into plain directories: it
 * works on any filesystem, nested in any container, but a container of a 100 MB image costs a
 * 100 MB copy (ctr run of a Node.js image: 4.9 s against 0.7 s with overlayfs, on this machine
 * under load). overlayfs is what production uses; it works on this machine's kernel and ext4.
 */
export type Snapshotter = 'native' | 'overlayfs';

export interface ContainerdOptions {
  /**
   * Default 'auto': overlayfs where an overlay mount works in the containerd's directory (the
   * check containerd itself makes), native otherwise.
   */
  snapshotter?: Snapshotter | 'auto';
  /** The CRI sandbox (pause) image; import it with `images`, CRI would otherwise pull it. */
  sandboxImage?: string;
  /** OCI archives to import into the k8s.io namespace once containerd answers. */
  images?: readonly TestImage[];
}

export type CtrResult = ToolResult;

export class Containerd {
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  readonly configFile: string;
  /** config_path of the CRI registry config: one `<host:port>/hosts.toml` per registry. */
  readonly hostsDir: string;
  /** runc's state, ours alone (the default /run/containerd/runc is shared with any other containerd). */
  readonly runcRoot: string;
  snapshotter: Snapshotter = 'native';
  /** containerd's log lines (the last 5,000). */
  readonly output: string[] = [];
  /** Milliseconds from spawning containerd to its first answer on the socket. */
  startMs = 0;
  private child?: ChildProcess;
  private exited?: Promise<unknown>;
  private removed = false;

  private constructor(
    readonly dir: string,
    private readonly options: ContainerdOptions,
  ) {
    this.root = path.join(dir, 'root');
    this.state = path.join(dir, 'state');
    this.socket = path.join(dir, 'containerd.sock');
    this.configFile = path.join(dir, 'config.toml');
    this.hostsDir = path.join(dir, 'certs.d');
    this.runcRoot = path.join(this.state, 'runc');
  }

  /** Starts containerd, waits until it answers, imports `options.images`. */
  static async start(options: ContainerdOptions = {}): Promise<Containerd> {
    requireTools('containerd tests', CONTAINERD_TOOLS);
    const containerd = new Containerd(mkdtempSync(path.join(tmpdir(), 'edge-ctd-')), options);
    try {
      await containerd.launch();
      for (const image of options.images ?? []) await containerd.importImage(image);
    } catch (err) {
      await containerd.stop();
      throw err;
    }
    return containerd;
  }

  /** The endpoint as kubelet's --container-runtime-endpoint takes it. */
  get endpoint(): string {
    return `unix://${this.socket}`;
  }

  /** containerd's own PID. */
  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The config (version 2) this containerd runs with. */
  config(): string {
    const cri = 'plugins."io.containerd.grpc.v1.cri"';
    const toml = (value: string): string => JSON.stringify(value);
    return [
      'version = 2',
      `root = ${toml(this.root)}`,
      `state = ${toml(this.state)}`,
      // Snapshotters that cannot work here; disabling them keeps the log to what matters.
      'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]',
      '[grpc]',
      `  address = ${toml(this.socket)}`,
      '[plugins]',
      // Default /opt/containerd, shared by every containerd on the machine.
      '  [plugins."io.containerd.internal.v1.opt"]',
      `    path = ${toml(path.join(this.root, 'opt'))}`,
      `  [${cri}]`,
      `    sandbox_image = ${toml(this.options.sandboxImage ?? 'localhost/edge-test/pause:1')}`,
      '    disable_tcp_service = true',
      // Port 0: the exec/attach/port-forward server takes a free port, so containerds coexist.
      '    stream_server_address = "127.0.0.1"',
      '    stream_server_port = "0"',
      // CRI gives sandboxes oom_score_adj -998, which needs CAP_SYS_RESOURCE; without it (as in
      // this sandbox) runc fails with "can't get final child's PID from pipe: EOF". Restricted,
      // containerd never asks for less than its own score.
      '    restrict_oom_score_adj = true',
      `    [${cri}.containerd]`,
      `      snapshotter = ${toml(this.snapshotter)}`,
      '      default_runtime_name = "runc"',
      `      [${cri}.containerd.runtimes.runc]`,
      '        runtime_type = "io.containerd.runc.v2"',
      `        [${cri}.containerd.runtimes.runc.options]`,
      `          Root = ${toml(this.runcRoot)}`,
      '          SystemdCgroup = false',
      // Host-network pods need no CNI at all; an empty conf_dir of our own keeps the host's
      // /etc/cni/net.d out (CRI then reports NetworkReady=false, which only pod networks need).
      `    [${cri}.cni]`,
      '      bin_dir = "/usr/lib/cni"',
      `      conf_dir = ${toml(path.join(this.dir, 'cni/net.d'))}`,
      // hosts.toml files, read at every pull: registries can be added while containerd runs.
      `    [${cri}.registry]`,
      `      config_path = ${toml(this.hostsDir)}`,
      '',
    ].join('\n');
  }

  private async launch(): Promise<void> {
    const wanted = this.options.snapshotter ?? 'auto';
    this.snapshotter = wanted === 'auto' ? ((await overlayMountWorks(this.dir)) ? 'overlayfs' : 'native') : wanted;
    mkdirSync(this.hostsDir, { recursive: true });
    mkdirSync(path.join(this.dir, 'cni/net.d'), { recursive: true });
    writeFileSync(this.configFile, this.config());
    const started = performance.now();
    const child = spawn(findCommand('containerd')!, ['--root', this.root, '--state', this.state, '--address', this.socket, '--config', this.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = once(child, 'exit');
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.output.push(line);
        if (this.output.length > 5_000) this.output.shift();
      });
    }
    const answered = await waitFor(
      async () => {
        if (!this.running) return 'exited';
        return (await this.ctr(['version'], { timeoutMs: 5_000 })).code === 0 && 'answered';
      },
      { timeoutMs: 30_000, what: `containerd to answer on ${this.socket}` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.output.slice(-30).join('\n')}`);
    });
    if (answered === 'exited') throw new Error(`containerd exited at start (${this.child.exitCode ?? this.child.signalCode}):\n${this.output.slice(-30).join('\n')}`);
    this.startMs = performance.now() - started;
  }

  /** `ctr` against this containerd, in `namespace` (default k8s.io). */
  ctr(args: readonly string[], options: { namespace?: string; timeoutMs?: number } = {}): Promise<CtrResult> {
    return runTool('ctr', ['--address', this.socket, '--namespace', options.namespace ?? CRI_NAMESPACE, ...args], {
      timeoutMs: options.timeoutMs ?? 60_000,
    });
  }

  /** Like ctr, but throws with ctr's stderr unless it exits 0. */
  async ctrOk(args: readonly string[], options: { namespace?: string; timeoutMs?: number } = {}): Promise<CtrResult> {
    const result = await this.ctr(args, options);
    if (result.code !== 0) throw new Error(`ctr ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
    return result;
  }

  /**
   * Imports an OCI archive, unpacked for this containerd's snapshotter (ctr's default would be
   * overlayfs, and CRI would then find no snapshot to start from).
   */
  async importImage(image: TestImage, namespace = CRI_NAMESPACE): Promise<void> {
    await this.ctrOk(['images', 'import', '--snapshotter', this.snapshotter, image.archive], { namespace, timeoutMs: 120_000 });
    const names = (await this.ctrOk(['images', 'ls', '-q'], { namespace })).stdout.split('\n');
    if (!names.includes(image.reference)) throw new Error(`importing ${image.archive} did not create ${image.reference} (images: ${names.join(', ')})`);
  }

  /** Tells containerd (for CRI pulls) and `ctr --hosts-dir` how to reach a registry over plain HTTP. */
  addPlainHttpRegistry(host: string): void {
    if (!/^[a-zA-Z0-9.-]+(:\d+)?$/.test(host)) throw new Error(`not a registry host[:port]: ${JSON.stringify(host)}`);
    mkdirSync(path.join(this.hostsDir, host), { recursive: true });
    writeFileSync(
      path.join(this.hostsDir, host, 'hosts.toml'),
      [`server = "http://${host}"`, '', `[host."http://${host}"]`, '  capabilities = ["pull", "resolve", "push"]', ''].join('\n'),
    );
  }

  /**
   * `ctr run` of `image` with host networking, this containerd's snapshotter and runc root.
   * A non-empty `command` replaces the image's Entrypoint and Cmd both (ctr's way; Kubernetes'
   * `args` would keep the Entrypoint).
   * Container ids share runc's cgroup paths (/k8s.io/<id>) with every other containerd on the
   * machine: make them unique per test file.
   */
  runContainer(
    image: string,
    id: string,
    command: readonly string[],
    options: {
      detach?: boolean;
      readOnly?: boolean;
      timeoutMs?: number;
      /** Bind mounts (read-only unless `readOnly: false`). */
      mounts?: readonly { src: string; dst: string; readOnly?: boolean }[];
      /** With `detach`: the container's stdout and stderr go to this file (ctr --log-uri file://). */
      logFile?: string;
    } = {},
  ): Promise<CtrResult> {
    const flags = [options.detach ? '--detach' : '--rm', ...(options.readOnly ? ['--read-only'] : []), '--net-host'];
    for (const mount of options.mounts ?? []) flags.push('--mount', `type=bind,src=${mount.src},dst=${mount.dst},options=rbind:${mount.readOnly === false ? 'rw' : 'ro'}`);
    if (options.logFile) flags.push('--log-uri', `file://${options.logFile}`);
    return this.ctr(
      ['run', ...flags, '--snapshotter', this.snapshotter, '--runc-root', this.runcRoot, image, id, ...command],
      { timeoutMs: options.timeoutMs ?? 60_000 },
    );
  }

  /**
   * `ctr images pull` through this containerd's hosts.toml files (addPlainHttpRegistry),
   * unpacked for its snapshotter; `user` as user:password.
   */
  pull(reference: string, user?: { name: string; password: string }): Promise<CtrResult> {
    return this.ctr(
      ['images', 'pull', '--hosts-dir', this.hostsDir, '--snapshotter', this.snapshotter, ...(user ? ['--user', `${user.name}:${user.password}`] : []), reference],
      { timeoutMs: 120_000 },
    );
  }

  /** The manifest digest containerd stores for an image name. */
  async imageDigest(reference: string, namespace = CRI_NAMESPACE): Promise<string | undefined> {
    const { stdout } = await this.ctrOk(['images', 'ls'], { namespace });
    for (const line of stdout.split('\n').slice(1)) {
      const [name, , digest] = line.trim().split(/\s+/);
      if (name === reference) return digest;
    }
    return undefined;
  }

  /** The host PID and status (RUNNING, STOPPED, ...) of a container's task, if it has one. */
  async task(id: string, namespace = CRI_NAMESPACE): Promise<{ pid: number; status: string } | undefined> {
    const { stdout } = await this.ctrOk(['tasks', 'ls'], { namespace });
    for (const line of stdout.split('\n').slice(1)) {
      const [name, pid, status] = line.trim().split(/\s+/);
      if (name === id && pid && status) return { pid: Number(pid), status };
    }
    return undefined;
  }

  /**
   * Processes that belong to this containerd: itself, its shims (they outlive containerd by
   * design) and everything below them (the containers).
   */
  leftovers(): number[] {
    const table = processTable();
    const roots = [...(this.running ? [this.pid] : []), ...this.shims(table).map((shim) => shim.pid)];
    return withDescendants(table, roots);
  }

  private shims(table: readonly ProcessInfo[]): Shim[] {
    return table.map(shimOf).filter((shim): shim is Shim => shim?.address === this.socket);
  }

  /**
   * Removes every task (SIGKILL), stops containerd (SIGTERM, SIGKILL after 10 s), kills what is
   * left of its shims and containers, unmounts what they left mounted, and deletes the directory.
   */
  async stop(): Promise<void> {
    if (this.running) {
      await this.removeTasks().catch(() => undefined);
      this.child!.kill('SIGTERM');
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    // Left after a crash (or a task that would not die): shims and their containers.
    const table = processTable();
    const shims = this.shims(table);
    const left = withDescendants(table, shims.map((shim) => shim.pid));
    const containerCgroups = left.filter((pid) => !shims.some((shim) => shim.pid === pid)).flatMap((pid) => cgroupDirs(pid));
    for (const pid of left) killQuietly(pid);
    if (left.length > 0) {
      await waitFor(() => left.every((pid) => !isAlive(pid)), { timeoutMs: 10_000, what: `processes ${left.join(', ')} of containerd to exit` });
    }
    removeCgroups(containerCgroups);
    for (const shim of shims) rmSync(shimSocketPath(shim), { force: true });
    if (this.removed) return;
    await unmountAndRemove(this.dir);
    this.removed = true;
  }

  private async removeTasks(): Promise<void> {
    const namespaces = (await this.ctrOk(['namespaces', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    for (const namespace of namespaces) {
      const tasks = (await this.ctrOk(['tasks', 'ls', '-q'], { namespace })).stdout.split('\n').filter(Boolean);
      // --force kills the task's processes and waits for them before deleting it.
      for (const id of tasks) await this.ctr(['tasks', 'rm', '--force', id], { namespace, timeoutMs: 20_000 });
    }
  }
}

/** Whether an overlay filesystem mounts under `dir` (mounted and unmounted at once). */
export async function overlayMountWorks(dir: string): Promise<boolean> {
  const probe = path.join(dir, 'overlay-probe');
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((name) => path.join(probe, name)) as [string, string, string, string];
  for (const folder of [lower, upper, work, merged]) mkdirSync(folder, { recursive: true });
  try {
    const mounted = await runTool('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    if (mounted.code !== 0) return false;
    await runTool('umount', [merged]);
    return true;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
