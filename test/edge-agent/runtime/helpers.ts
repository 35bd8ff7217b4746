/** Shared pieces of the process runtime tests: an in-memory lookup, Pod builders, a runtime harness with cleanup. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { afterEach } from 'vitest';
import { formatKey, type JsonObject, type JsonValue } from '../../../protocol/index.js';
import { ProcessRuntime, type ProcessRuntimeOptions, type RuntimeEvent } from '../../../edge-agent/runtime/index.js';
import type { PodState } from '../../../edge-agent/runtime/pod-state.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

export const NODE = 'edge-test';
export const HOST_IP = '10.1.2.3';

/**
 * A directory for Secret volumes on a memory filesystem: /dev/shm (tmpfs on every Linux with
 * glibc). The runtime refuses Secret volumes anywhere else.
 */
export function makeSecretsDir(): { path: string; remove(): void } {
  const dir = mkdtempSync('/dev/shm/edge-test-secrets-');
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function silentLogger(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'silent' });
}

/** The agent cache as the runtime sees it: a map by key, editable by the test. */
export class MemoryLookup {
  readonly objects = new Map<string, JsonObject>();

  constructor(objects: JsonObject[] = []) {
    for (const object of objects) this.put(object);
  }

  put(object: JsonObject): void {
    const metadata = object.metadata as JsonObject;
    this.objects.set(formatKey(object.kind as string, (metadata.namespace as string) ?? '', metadata.name as string), object);
  }

  delete(key: string): void {
    this.objects.delete(key);
  }

  get(key: string): JsonObject | undefined {
    return this.objects.get(key);
  }
}

export function configMap(name: string, data: Record<string, string>, extra: JsonObject = {}, namespace = 'default'): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data, ...extra };
}

export function secret(name: string, data: Record<string, string>, namespace = 'default'): JsonObject {
  const encoded: JsonObject = {};
  for (const [key, value] of Object.entries(data)) encoded[key] = Buffer.from(value).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data: encoded };
}

export interface PodOptions {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  grace?: number;
  initContainers?: JsonObject[];
  containers: JsonObject[];
  volumes?: JsonObject[];
}

export function makePod(options: PodOptions): JsonObject {
  const spec: JsonObject = { nodeName: NODE, containers: options.containers };
  if (options.restartPolicy) spec.restartPolicy = options.restartPolicy;
  if (options.grace !== undefined) spec.terminationGracePeriodSeconds = options.grace;
  if (options.initContainers) spec.initContainers = options.initContainers;
  if (options.volumes) spec.volumes = options.volumes;
  const metadata: JsonObject = { name: options.name ?? 'p', namespace: options.namespace ?? 'default', uid: options.uid ?? randomUUID() };
  if (options.labels) metadata.labels = options.labels;
  if (options.annotations) metadata.annotations = options.annotations;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

/** A container running a shell script. */
export function sh(name: string, script: string, extra: JsonObject = {}): JsonObject {
  return { name, image: 'busybox', command: ['sh', '-c', script], ...extra };
}

export function keyOf(pod: JsonObject): string {
  const metadata = pod.metadata as JsonObject;
  return formatKey('Pod', metadata.namespace as string, metadata.name as string);
}

/** A runtime on a temp data dir, recording every onChange call; `cleanup()` kills whatever its Pods left running. */
export class Harness {
  readonly dir: { path: string; remove(): void };
  readonly secretsDir = makeSecretsDir();
  readonly lookup: MemoryLookup;
  readonly events: RuntimeEvent[] = [];
  runtime: ProcessRuntime;
  private readonly runtimes: ProcessRuntime[] = [];

  constructor(
    private readonly overrides: Partial<ProcessRuntimeOptions> = {},
    objects: JsonObject[] = [],
  ) {
    this.dir = makeTempDir('edge-runtime-');
    this.lookup = new MemoryLookup(objects);
    this.runtime = this.create();
  }

  get dataDir(): string {
    return this.overrides.dataDir ?? this.dir.path;
  }

  /** A new runtime object on the same data dir (the old one is left as it is: call `stop()` first to model a restart). */
  create(overrides: Partial<ProcessRuntimeOptions> = {}): ProcessRuntime {
    const runtime = new ProcessRuntime({
      dataDir: this.dir.path,
      nodeName: NODE,
      lookup: this.lookup,
      logger: silentLogger(),
      hostIP: HOST_IP,
      useBwrap: 'never',
      pollIntervalMs: 100,
      backoff: { initialMs: 200, maxMs: 800, resetAfterMs: 5_000 },
      secretsDir: this.secretsDir.path,
      ...this.overrides,
      ...overrides,
    });
    runtime.onChange((_key, event) => {
      if (event) this.events.push(event);
    });
    this.runtimes.push(runtime);
    this.runtime = runtime;
    return runtime;
  }

  status(key: string): JsonObject {
    const status = this.runtime.podStatus(key);
    if (!status) throw new Error(`no status for ${key}`);
    return status;
  }

  /** The containerStatuses (or initContainerStatuses) entry of one container. */
  container(key: string, name: string, init = false): JsonObject {
    const list = (this.status(key)[init ? 'initContainerStatuses' : 'containerStatuses'] ?? []) as JsonObject[];
    const found = list.find((item) => item.name === name);
    if (!found) throw new Error(`no status for container ${name}`);
    return found;
  }

  /** pid of the running container, from containerID process://<pid>. */
  pid(key: string, name: string): number | undefined {
    const status = this.container(key, name);
    const state = status.state as JsonObject;
    if (!state.running) return undefined;
    return Number(String(status.containerID).replace('process://', ''));
  }

  waitRunning(key: string, name: string, what = `${name} running`): Promise<number> {
    return waitFor(() => this.pid(key, name), { what });
  }

  waitTerminated(key: string, name: string, init = false): Promise<JsonObject> {
    return waitFor(() => ((this.container(key, name, init).state as JsonObject).terminated as JsonObject | undefined), { what: `${name} terminated` });
  }

  eventsOf(container: string, reason?: string): RuntimeEvent[] {
    return this.events.filter((event) => event.container === container && (reason === undefined || event.reason === reason));
  }

  /** The persisted state of every Pod (for tests that look at or corrupt it). */
  states(): { file: string; state: PodState }[] {
    const podsDir = path.join(this.dataDir, 'pods');
    let entries: string[] = [];
    try {
      entries = readdirSync(podsDir);
    } catch {
      return [];
    }
    return entries.flatMap((entry) => {
      const file = path.join(podsDir, entry, 'state.json');
      try {
        return [{ file, state: JSON.parse(readFileSync(file, 'utf8')) as PodState }];
      } catch {
        return [];
      }
    });
  }

  async cleanup(): Promise<void> {
    for (const runtime of this.runtimes) await runtime.stop();
    for (const { state } of this.states()) {
      for (const record of Object.values(state.containers)) {
        if (record.running) killGroup(record.running.pgid);
      }
    }
    // The runtime's cgroup subtree goes too, once the killed processes have left it.
    for (const driver of new Set(this.runtimes.map((runtime) => runtime.cgroups))) {
      if (driver) await waitFor(() => driver.remove('') || undefined, { what: 'the runtime\'s cgroups removed' });
    }
    this.dir.remove();
    this.secretsDir.remove();
  }
}

/** SIGKILLs a process group; refuses anything but a real group id (kill(0) or kill(-1) would hit the test runner). */
export function killGroup(pgid: number): void {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new Error(`not a process group id: ${pgid}`);
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function field(object: JsonValue | undefined, ...names: string[]): JsonValue | undefined {
  let current: JsonValue | undefined = object;
  for (const name of names) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = current[name];
  }
  return current;
}

/**
 * `harness(...)` builds and starts a Harness; every one it made is cleaned up after each test.
 * Call at a test file's top level (it registers the afterEach there).
 */
export function startedHarnesses(): ((...args: ConstructorParameters<typeof Harness>) => Promise<Harness>) & { track(harness: Harness): Harness } {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    for (const harness of harnesses.splice(0)) await harness.cleanup();
  });
  const start = async (...args: ConstructorParameters<typeof Harness>): Promise<Harness> => {
    const created = new Harness(...args);
    harnesses.push(created);
    await created.runtime.start();
    return created;
  };
  // `track` cleans up a Harness the test starts itself (or never starts).
  return Object.assign(start, { track: (harness: Harness) => (harnesses.push(harness), harness) });
}
