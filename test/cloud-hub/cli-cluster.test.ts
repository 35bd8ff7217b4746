/**
 * How the real `cloud-hub` binary finds its cluster and says when it is ready: `$KUBECONFIG`
 * when no flag names one, a clear "no cluster found" when nothing does, and `ready` (like
 * /readyz) only once every informer has listed; `listening` carries the bound addresses
 * before that.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, run, startProcess, type RunningProcess } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';

const cleanups: (() => unknown)[] = [];
let dir: ReturnType<typeof makeTempDir>;
/** A HOME without ~/.kube and a working directory without .edge-hub: nothing to fall back on. */
let bare: ReturnType<typeof makeTempDir>;
let apiserver: RunningProcess;
let apiUrl: string;
let kubeconfig: string;

/** The environment of a fresh shell: none of our variables, no KUBECONFIG, an empty HOME. */
const clean = (extra: Record<string, string> = {}): Record<string, string | undefined> => ({
  KUBECONFIG: undefined,
  EDGE_KUBECONFIG: undefined,
  EDGE_DATA: undefined,
  EDGE_EMBEDDED: undefined,
  KUBERNETES_SERVICE_HOST: undefined,
  HOME: bare.path,
  LOG_LEVEL: 'info',
  ...extra,
});

beforeAll(async () => {
  dir = makeTempDir('edge-cli-cluster-');
  bare = makeTempDir('edge-cli-home-');
  apiserver = await startProcess(BIN.cloudHub, ['apiserver', '--data', path.join(dir.path, 'api'), '--listen', '127.0.0.1:0']);
  apiUrl = String(apiserver.logs.find((line) => line.msg === 'ready')!.api);
  kubeconfig = path.join(dir.path, 'api', 'kubeconfig');
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await apiserver?.stop();
  dir?.remove();
  bare?.remove();
});

describe('cloud-hub finds its cluster', () => {
  it('uses $KUBECONFIG when no --kubeconfig is given, as the README says', async () => {
    const hub = await startProcess(BIN.cloudHub, ['--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0'], { cwd: bare.path, env: clean({ KUBECONFIG: kubeconfig }) });
    cleanups.push(() => hub.stop());
    const ready = hub.logs.find((line) => line.msg === 'ready')!;
    expect(ready.cluster).toBe(apiUrl);
    expect(String(ready.ws)).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${String(ready.metrics)}/readyz`)).status).toBe(200);
    await hub.stop();
  }, 60_000);

  it('says that no cluster was found, and how to point at one, when nothing names one', async () => {
    const commands = [['token', 'list'], ['token', 'create', 'edge-1'], ['--listen', '127.0.0.1:0']];
    const results = await Promise.all(commands.map((args) => run(process.execPath, [BIN.cloudHub, ...args], { cwd: bare.path, env: clean() })));
    for (const [i, result] of results.entries()) {
      expect(result.code, `cloud-hub ${commands[i]!.join(' ')}`).toBe(1);
      expect(result.stderr).toMatch(/^cloud-hub: no cluster found: no --kubeconfig, \$KUBECONFIG is not set, .*\.kube\/config does not exist/);
      expect(result.stderr).toContain('--kubeconfig FILE');
      expect(result.stderr).toContain('--embedded');
      expect(result.stderr).not.toContain('HTTP protocol');
      expect(result.stderr).not.toContain('ENOENT');
    }
  }, 90_000);

  it('names a kubeconfig that does not exist, wherever it was named', async () => {
    const missing = path.join(bare.path, 'nope.yaml');
    const [fromEnv, fromFlag] = await Promise.all([
      run(process.execPath, [BIN.cloudHub, 'token', 'list'], { cwd: bare.path, env: clean({ KUBECONFIG: missing }) }),
      run(process.execPath, [BIN.cloudHub, '--kubeconfig', missing, '--listen', '127.0.0.1:0'], { cwd: bare.path, env: clean() }),
    ]);
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toContain(`$KUBECONFIG names ${missing}, which does not exist`);
    expect(fromFlag.code).toBe(1);
    expect(fromFlag.stderr).toContain(`kubeconfig ${missing} (from --kubeconfig) does not exist`);
  }, 60_000);
});

describe('cloud-hub readiness', () => {
  it('is not ready, in its log and on /readyz, until every informer has listed; it is once the API answers', async () => {
    const offline = makeTempDir('edge-cli-offline-');
    cleanups.push(() => offline.remove());
    let api = await startProcess(BIN.cloudHub, ['apiserver', '--data', offline.path, '--listen', '127.0.0.1:0']);
    cleanups.push(() => api.stop());
    const port = new URL(String(api.logs.find((line) => line.msg === 'ready')!.api)).port;
    await api.stop();

    const hub = await startProcess(BIN.cloudHub, ['--kubeconfig', path.join(offline.path, 'kubeconfig'), '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0'], {
      env: clean(),
      ready: (line) => line.msg === 'listening',
    });
    cleanups.push(() => hub.stop());
    const listening = hub.logs.find((line) => line.msg === 'listening')!;
    const metrics = String(listening.metrics);
    await hub.waitForLog((line) => line.msg === 'informer cannot list from the cluster API; not ready until every kind has listed', 20_000, 'the informers failing');
    expect((await fetch(`${metrics}/readyz`)).status).toBe(503);
    expect(hub.logs.some((line) => line.msg === 'ready')).toBe(false);
    // The admin commands say the same about the cluster, plainly.
    const list = await run(process.execPath, [BIN.cloudHub, 'token', 'list', '--kubeconfig', path.join(offline.path, 'kubeconfig')], { env: clean() });
    expect(list.code).toBe(1);
    expect(list.stderr).toContain(`cannot reach the cluster API at https://127.0.0.1:${port}`);

    api = await startProcess(BIN.cloudHub, ['apiserver', '--data', offline.path, '--listen', `127.0.0.1:${port}`]);
    cleanups.push(() => api.stop());
    // The informers back off up to 30 s between attempts.
    const ready = await hub.waitForLog((line) => line.msg === 'ready', 60_000, 'ready');
    expect(ready).toMatchObject({ ws: listening.ws, metrics, cluster: listening.cluster });
    expect((await fetch(`${metrics}/readyz`)).status).toBe(200);
    // Every kind listed before the ready line, none after.
    const readyAt = hub.logs.indexOf(ready);
    const synced = hub.logs.flatMap((line, i) => (line.msg === 'informer synced' ? [i] : []));
    expect(synced).toHaveLength(4);
    expect(synced.every((i) => i < readyAt)).toBe(true);
  }, 90_000);
});
