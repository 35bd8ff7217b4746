/**
 * The real agent binary against what could hurt it or its workloads:
 * - a hostile hub (a scripted one on a real socket) sending Pods whose names would become paths
 *   outside the data directory: each is quarantined (status Failed/InvalidSpec and a Warning
 *   event upstream), nothing outside is touched, the good Pod runs, and the agent stays up,
 *   online and offline, across a kill -9 with those Pods in its cache;
 * - a Pod in the agent's bubblewrap sandbox trying to read the agent's token, data directory
 *   and Secret volumes' directory: it cannot, and it reads its own Secret volume;
 * - a corrupt cache while Pods run (real API, real hub): the agent keeps what runs (same pid,
 *   same restart count), does not run a completed Never Pod again, and stops a Pod only once
 *   the hub's resync has confirmed it is gone;
 * - one damaged row in a complete cache (a scripted hub): the Pod whose row no longer reads is
 *   not taken for deleted; it keeps running until the next complete resync brings it again.
 */
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheDigest, type CacheEntry, type SyncOp } from '../../../protocol/index.js';
import { TestCluster, type AgentHandle } from '../../helpers/cluster.js';
import { BIN, startProcess, type RunningProcess } from '../../helpers/process.js';
import { ScriptedHub } from '../../helpers/scripted-hub.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { killPodProcesses } from '../../../sim/launch/pod-processes.js';

type Obj = Record<string, any>;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidOf(status: Obj | undefined, container = 'main'): number | undefined {
  const id = status?.containerStatuses?.find((c: Obj) => c.name === container)?.containerID as string | undefined;
  return id ? Number(id.replace('process://', '')) : undefined;
}

/** The runtime's persisted state of the Pod named `name` (any namespace), read from the data dir. */
function stateOf(data: string, name: string): Obj | undefined {
  const podsDir = path.join(data, 'pods');
  const entry = readdirSync(podsDir).find((dir) => dir.split('_')[1] === name);
  return entry ? JSON.parse(readFileSync(path.join(podsDir, entry, 'state.json'), 'utf8')) : undefined;
}

describe('an agent fed hostile Pods', () => {
  const NODE = 'edge-hostile';
  let dir: { path: string; remove(): void };
  let data = '';
  let victim = '';
  let hub: ScriptedHub;
  let agent: RunningProcess | undefined;

  const pod = (key: string, metadata: Obj, spec: Obj = {}): SyncOp => ({
    op: 'put',
    key,
    rv: `rv-${key}`,
    obj: { apiVersion: 'v1', kind: 'Pod', metadata: { uid: `uid-${metadata.name ?? 'x'}`, ...metadata }, spec: { nodeName: NODE, containers: [{ name: 'main', image: 'sh', command: ['sleep', '3600'] }], ...spec } },
  });
  // Objects the cache itself refuses (E_SHAPE, never stored): a key and body that disagree, or
  // names that are not Kubernetes names.
  const REFUSED: SyncOp[] = [
    // The crash loop of the security review: a namespace with a slash.
    pod('Pod/x/ns-slash', { namespace: 'a/b', name: 'ns-slash' }),
    pod('Pod/default/posing', { namespace: 'default', name: 'someone-else' }),
    pod('Pod/../dotdot', { namespace: '..', name: 'dotdot' }),
  ];
  // Well-formed objects whose spec would reach outside: stored, quarantined, reported.
  const QUARANTINED: SyncOp[] = [
    pod('Pod/default/uid-escape', { namespace: 'default', name: 'uid-escape', uid: '../../../victim' }),
    pod('Pod/default/container-escape', { namespace: 'default', name: 'container-escape' }, { containers: [{ name: '../../../victim', command: ['true'] }] }),
    pod('Pod/default/volume-escape', { namespace: 'default', name: 'volume-escape' }, { volumes: [{ name: '../../../../../victim', emptyDir: {} }] }),
  ];
  const HOSTILE = [...REFUSED, ...QUARANTINED];
  const GOOD = pod('Pod/default/good', { namespace: 'default', name: 'good' });

  function startAgent(hubUrl: string): Promise<RunningProcess> {
    return startProcess(BIN.edgeAgent, ['--node', NODE, '--hub', hubUrl, '--data', data, '--local-api', '127.0.0.1:0', '--sandbox', 'never']);
  }

  async function handshake(ops: SyncOp[]): Promise<void> {
    const hellos = hub.of('hello').length;
    await hub.waitUntil(() => hub.of('hello').length > hellos, 20_000, 'hello');
    hub.welcome(1_000);
    hub.send({ v: 1, t: 'sync', seq: 1, ops });
    const entries: CacheEntry[] = ops.map((op) => [op.key, (op as { rv: string }).rv]);
    hub.send({ v: 1, t: 'synced', seq: 1, digest: cacheDigest(entries), n: entries.length });
  }

  const statusFor = (name: string) =>
    hub
      .of('status')
      .flatMap((frame) => frame.pods)
      .filter((report) => report.name === name)
      .at(-1);

  beforeAll(async () => {
    dir = makeTempDir('edge-hostile-');
    data = path.join(dir.path, 'data');
    victim = path.join(dir.path, 'victim');
    mkdirSync(victim);
    writeFileSync(path.join(victim, 'precious'), 'keep me');
    hub = await new ScriptedHub().start();
  });

  afterAll(async () => {
    await agent?.stop();
    await hub?.close();
    if (data) killPodProcesses(data);
    dir?.remove();
  });

  it('quarantines each one, reports it upstream, touches nothing outside, and runs the good Pod', async () => {
    agent = await startAgent(hub.url);
    await handshake([...HOSTILE, GOOD]);
    const good = await hub.waitUntil(() => (statusFor('good')?.status.phase === 'Running' ? statusFor('good') : undefined), 20_000, 'good Running');
    expect(good.ns).toBe('default');

    const refusals = await hub.waitUntil(() => {
      const messages = hub.of('error').filter((frame) => frame.code === 'E_SHAPE').map((frame) => frame.msg);
      return REFUSED.every((op) => messages.some((msg) => msg.includes(`(put ${op.key})`))) ? messages : undefined;
    }, 20_000, 'an E_SHAPE refusal naming every malformed Pod');
    expect(refusals.join('\n')).toMatch(/Pod\/x\/ns-slash/);

    const reported = await hub.waitUntil(() => {
      const names = ['uid-escape', 'container-escape', 'volume-escape'];
      const statuses = names.map((name) => statusFor(name));
      return statuses.every((status) => status?.status.reason === 'InvalidSpec') ? statuses : undefined;
    }, 20_000, 'an InvalidSpec status for every quarantined Pod');
    for (const report of reported) {
      expect(report!.status).toMatchObject({ phase: 'Failed', reason: 'InvalidSpec' });
      expect(String(report!.status.message)).toMatch(/^Pod failed validation on the node: /);
    }
    expect(String(statusFor('uid-escape')!.status.message)).toMatch(/metadata\.uid: Invalid value: "\.\.\/\.\.\/\.\.\/victim"/);
    for (const name of ['ns-slash', 'someone-else', 'dotdot']) expect(statusFor(name)).toBeUndefined();

    const events = await hub.waitUntil(() => {
      const found = hub.of('event').flatMap((frame) => frame.events).filter((event) => event.reason === 'InvalidSpec');
      return found.length >= QUARANTINED.length ? found : undefined;
    }, 20_000, 'InvalidSpec events');
    expect(new Set(events.map((event) => event.object))).toEqual(new Set(QUARANTINED.map((op) => op.key)));
    expect(events.every((event) => event.type === 'Warning')).toBe(true);

    // Nothing outside the data directory; only the good Pod has a directory inside it.
    expect(readdirSync(dir.path).sort()).toEqual(['data', 'victim']);
    expect(readdirSync(victim)).toEqual(['precious']);
    expect(readdirSync(path.join(data, 'pods'))).toEqual(['default_good_uid-good']);
    expect(agent.running).toBe(true);
  });

  it('stays up with them in its cache after a kill -9, offline, and keeps the good Pod running', async () => {
    const pid = stateOf(data, 'good')!.containers.main.running.pid as number;
    await agent!.kill();
    await hub.close();
    // Nothing listens there any more: the agent starts offline from its cache alone.
    agent = await startAgent(hub.url);
    for (const op of QUARANTINED) await agent.waitForLog((line) => line.msg === 'pod quarantined: it fails validation and is not run' && line.key === op.key, 20_000, `${op.key} quarantined`);
    await agent.waitForLog((line) => line.msg === 'cannot reach the hub' || line.msg === 'disconnected from hub', 20_000, 'a failed connection');
    expect(agent.running).toBe(true);
    expect(alive(pid)).toBe(true);
    expect(stateOf(data, 'good')!.containers.main.running.pid).toBe(pid);
    const local = agent.logs.find((line) => line.msg === 'ready')!.localApi as string;
    const pods = (await (await fetch(`${local}/api/v1/namespaces/default/pods`)).json()) as Obj;
    expect(pods.items.map((item: Obj) => item.metadata.name)).toContain('good');
    // What the cache refused was never stored.
    expect(pods.items.map((item: Obj) => item.metadata.name)).not.toContain('someone-else');
    // The local API shows a quarantined Pod as the hub was told: Failed, InvalidSpec.
    const quarantined = pods.items.find((item: Obj) => item.metadata.name === 'uid-escape');
    expect(quarantined.status).toMatchObject({ phase: 'Failed', reason: 'InvalidSpec' });
    expect(readdirSync(victim)).toEqual(['precious']);
    expect(readdirSync(dir.path).sort()).toEqual(['data', 'victim']);
  });
});

describe('a Pod in the sandbox of the real agent', () => {
  const NODE = 'edge-nosy';
  let dir = '';
  let data = '';
  let tokenFile = '';
  let secretsRoot = '';
  let hub: ScriptedHub;
  let agent: RunningProcess | undefined;

  beforeAll(async () => {
    // Outside /tmp, which every sandbox gets a private copy of anyway: /var/tmp is the host's.
    dir = mkdtempSync('/var/tmp/edge-nosy-');
    data = path.join(dir, 'data');
    tokenFile = path.join(dir, 'etc', 'token');
    // Its own root on tmpfs, so the test removes what its Pod leaves there.
    secretsRoot = mkdtempSync('/dev/shm/edge-nosy-secrets-');
    mkdirSync(path.dirname(tokenFile), { recursive: true });
    writeFileSync(tokenFile, 'the-node-token\n', { mode: 0o600 });
    hub = await new ScriptedHub().start();
  });

  afterAll(async () => {
    await agent?.stop();
    await hub?.close();
    if (data) killPodProcesses(data);
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (secretsRoot) rmSync(secretsRoot, { recursive: true, force: true });
  });

  it('cannot read the token file, the data directory or the Secret volumes\' directory, and reads its own Secret', async () => {
    // --sandbox always: without bubblewrap the agent refuses to start, naming the package (apt-get install bubblewrap).
    agent = await startProcess(BIN.edgeAgent, ['--node', NODE, '--hub', hub.url, '--data', data, '--token-file', tokenFile, '--secrets-dir', secretsRoot, '--sandbox', 'always']);
    const ready = agent.logs.find((line) => line.msg === 'ready')!;
    expect(ready.sandbox).toBe('bwrap');
    const secretsDir = ready.secretsDir as string;
    const script = [
      `cat ${tokenFile} && echo token=READ || echo token=denied`,
      `echo "data=$(ls -A ${data} 2>/dev/null | wc -l)"`,
      `echo "secrets=$(ls -A ${secretsDir} 2>/dev/null | wc -l)"`,
      'echo "own=$(cat /etc/creds/password)"',
      'echo done',
      'exec sleep 3600',
    ].join('; ');
    await hub.waitUntil(() => hub.of('hello').length > 0, 20_000, 'hello');
    hub.welcome(1_000);
    const ops: SyncOp[] = [
      { op: 'put', key: 'Secret/default/creds', rv: 's1', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' }, data: { password: Buffer.from('pw-7').toString('base64') } } },
      {
        op: 'put',
        key: 'Pod/default/nosy',
        rv: 'p1',
        obj: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'nosy', namespace: 'default', uid: 'uid-nosy' },
          spec: { nodeName: NODE, containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', script], volumeMounts: [{ name: 'creds', mountPath: '/etc/creds' }] }], volumes: [{ name: 'creds', secret: { secretName: 'creds' } }] },
        },
      },
    ];
    hub.send({ v: 1, t: 'sync', seq: 1, ops });
    const log = path.join(data, 'pods', 'default_nosy_uid-nosy', 'logs', 'main.log');
    const text = await waitFor(() => {
      try {
        const content = readFileSync(log, 'utf8');
        return content.includes('done') ? content : undefined;
      } catch {
        return undefined;
      }
    }, { what: 'the nosy Pod done' });
    const lines = text.trim().split('\n');
    expect(lines).toContain('token=denied');
    expect(text).not.toContain('the-node-token');
    expect(lines).toEqual(expect.arrayContaining(['data=0', 'secrets=0', 'own=pw-7']));
  });
});

describe('an agent whose cache is corrupt while its Pods run', () => {
  const NS = 'reset';
  const NODE = 'edge-reset';
  let cluster: TestCluster;
  let agent: AgentHandle;
  const agentArgs = ['--restart-backoff-initial', '200', '--restart-backoff-max', '400', '--sandbox', 'never'];
  const podPath = (name = '') => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ''}`;
  const podStatus = async (name: string): Promise<Obj | undefined> => (await cluster.client.get<Obj>(podPath(name))).status;

  async function createPod(name: string, spec: Obj): Promise<void> {
    await cluster.client.create(podPath(), { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName: NODE, ...spec } });
  }

  beforeAll(async () => {
    cluster = new TestCluster();
    await cluster.start();
    await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await cluster.tokenFile(NODE);
    agent = await cluster.startAgent(NODE, { args: agentArgs });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('keeps running Pods (same pid, same restart count), does not run a finished Never Pod again, and stops a deleted Pod only after the resync', async () => {
    // Fails once, then runs: a restart count of 1 that a reset must not lose.
    await createPod('restarted', {
      restartPolicy: 'Always',
      containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'if [ ! -e "$EDGE_VOLUME_MARK/once" ]; then touch "$EDGE_VOLUME_MARK/once"; exit 1; fi; exec sleep 3600'], volumeMounts: [{ name: 'mark', mountPath: '/mark' }] }],
      volumes: [{ name: 'mark', emptyDir: {} }],
    });
    await createPod('finished', { restartPolicy: 'Never', containers: [{ name: 'main', image: 'sh', command: ['sh', '-c', 'echo ran'] }] });
    await createPod('doomed', { containers: [{ name: 'main', image: 'sh', command: ['sleep', '3600'] }] });
    const restarted = await waitFor(async () => {
      const status = await podStatus('restarted');
      return status?.containerStatuses?.[0]?.restartCount === 1 && status.containerStatuses[0].state?.running ? status : undefined;
    }, { timeoutMs: 30_000, what: 'restarted Running after one restart' });
    await waitFor(async () => (await podStatus('finished'))?.phase === 'Succeeded', { what: 'finished Succeeded' });
    const doomed = await waitFor(async () => {
      const status = await podStatus('doomed');
      return status?.phase === 'Running' ? status : undefined;
    }, { what: 'doomed Running' });
    const restartedPid = pidOf(restarted)!;
    const doomedPid = pidOf(doomed)!;
    const finishedLog = path.join(agent.data, 'pods', readdirSync(path.join(agent.data, 'pods')).find((entry) => entry.startsWith(`${NS}_finished_`))!, 'logs', 'main.log');
    expect(readFileSync(finishedLog, 'utf8')).toBe('ran\n');

    // The agent goes away; meanwhile the Pod 'doomed' is deleted for good, and the cache is damaged.
    await cluster.stopHub();
    await agent.stop();
    await cluster.client.delete(podPath('doomed'), { gracePeriodSeconds: '0' }, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
    writeFileSync(path.join(agent.data, 'cache.db'), 'this is not a database '.repeat(500));

    // Offline, with an empty cache that knows nothing: everything keeps running as it was.
    agent = await cluster.startAgent(NODE, { args: agentArgs });
    await agent.proc.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('cache database is unusable; moved it aside'), 10_000, 'the cache moved aside');
    for (const name of ['restarted', 'finished', 'doomed']) {
      await agent.proc.waitForLog((line) => line.msg === 'keeping a pod the cache does not hold until the hub resync confirms whether it still exists' && line.key === `Pod/${NS}/${name}`, 20_000, `${name} kept`);
    }
    expect(alive(restartedPid)).toBe(true);
    expect(alive(doomedPid)).toBe(true);
    expect(stateOf(agent.data, 'restarted')!.containers.main).toMatchObject({ restartCount: 1, running: { pid: restartedPid } });

    // The hub comes back: its resync brings what exists and confirms what does not.
    await cluster.startHub();
    await agent.proc.waitForLog((line) => line.msg === 'cache complete after a resync with the hub: pods it does not hold will be stopped', 60_000, 'the resync completing');
    await waitFor(() => !alive(doomedPid), { timeoutMs: 40_000, what: 'doomed stopped once the resync confirmed its deletion' });
    // A pass that stopped 'doomed' had synced the Pods the cache holds first: had 'finished' been
    // started again, it would have been by now.
    const after = await waitFor(async () => {
      const status = await podStatus('restarted');
      return pidOf(status) === restartedPid ? status : undefined;
    }, { what: 'restarted reported with its old pid' });
    expect(after.containerStatuses[0].restartCount).toBe(1);
    expect(alive(restartedPid)).toBe(true);
    expect(stateOf(agent.data, 'restarted')!.containers.main.restartCount).toBe(1);
    expect(readFileSync(finishedLog, 'utf8')).toBe('ran\n');
    expect(agent.proc.logs.filter((line) => line.msg === 'container started' && line.pod === `Pod/${NS}/finished`)).toEqual([]);
    expect((await podStatus('finished'))?.phase).toBe('Succeeded');
    expect(stateOf(agent.data, 'doomed')).toBeUndefined();
  });
});

describe('an agent whose complete cache loses a Pod\'s row to damage', () => {
  const NODE = 'edge-damaged';
  const KEY = 'Pod/default/steady';
  const POD: SyncOp = {
    op: 'put',
    key: KEY,
    rv: 'rv-steady',
    obj: { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default', name: 'steady', uid: 'uid-steady' }, spec: { nodeName: NODE, containers: [{ name: 'main', image: 'sh', command: ['sleep', '3600'] }] } },
  };
  let dir: { path: string; remove(): void };
  let data = '';
  let hub: ScriptedHub;
  let agent: RunningProcess | undefined;

  const startAgent = () => startProcess(BIN.edgeAgent, ['--node', NODE, '--hub', hub.url, '--data', data, '--sandbox', 'never']);
  const isCacheComplete = (line: { msg?: unknown }) => line.msg === 'cache complete after a resync with the hub: pods it does not hold will be stopped';

  /** Waits for the agent's next hello, then welcomes it and resyncs it to `ops`. */
  async function resync(ops: SyncOp[]): Promise<void> {
    const hellos = hub.of('hello').length;
    await hub.waitUntil(() => hub.of('hello').length > hellos, 20_000, 'hello');
    hub.welcome(1_000);
    hub.send({ v: 1, t: 'sync', seq: 1, ops });
    const entries: CacheEntry[] = ops.map((op) => [op.key, (op as { rv: string }).rv]);
    hub.send({ v: 1, t: 'synced', seq: 1, digest: cacheDigest(entries), n: entries.length });
  }

  beforeAll(async () => {
    dir = makeTempDir('edge-damaged-');
    data = path.join(dir.path, 'data');
    hub = await new ScriptedHub().start();
  });

  afterAll(async () => {
    await agent?.stop();
    await hub?.close();
    if (data) killPodProcesses(data);
    dir?.remove();
  });

  it('keeps the Pod running (same pid) until the next complete resync brings it again', async () => {
    agent = await startAgent();
    await resync([POD]);
    await agent.waitForLog(isCacheComplete, 20_000, 'the cache complete');
    const pid = await waitFor(() => stateOf(data, 'steady')?.containers?.main?.running?.pid as number | undefined, { timeoutMs: 20_000, what: 'steady running' });

    // The agent stops (its Pods run on) and the Pod's row is damaged in the SQLite file.
    await agent.stop();
    const db = new Database(path.join(data, 'cache.db'));
    try {
      expect(db.prepare('UPDATE objects SET body = ? WHERE key = ?').run('{"kind": "Pod", damaged', KEY).changes).toBe(1);
    } finally {
      db.close();
    }

    // Back, with the hub not answering yet: the unreadable row is dropped, and the Pod is unknown, not deleted.
    const statusFramesBefore = hub.of('status').length;
    agent = await startAgent();
    await agent.waitForLog((line) => line.msg === 'cached object is unreadable; dropping it so the next resync fetches it again', 20_000, 'the damaged row found');
    await agent.waitForLog((line) => line.msg === 'keeping a pod the cache does not hold until the hub resync confirms whether it still exists' && line.key === KEY, 20_000, 'the pod kept');
    expect(agent.logs.filter((line) => line.msg === 'stopping pod')).toEqual([]);
    expect(alive(pid)).toBe(true);

    // The next complete resync brings the Pod again: the same process runs on.
    await resync([POD]);
    await agent.waitForLog(isCacheComplete, 20_000, 'the cache complete again');
    const reported = await hub.waitUntil(
      () =>
        hub
          .of('status')
          .slice(statusFramesBefore)
          .flatMap((frame) => frame.pods)
          .filter((report) => report.name === 'steady' && pidOf(report.status as Obj) === pid)
          .at(-1),
      20_000,
      'steady reported running with its old pid',
    );
    expect((reported.status as Obj).phase).toBe('Running');
    expect(alive(pid)).toBe(true);
    expect(agent.logs.filter((line) => line.msg === 'stopping pod' || (line.msg === 'container started' && line.pod === KEY))).toEqual([]);
  });
});
