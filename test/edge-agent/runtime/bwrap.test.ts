/**
 * Containers in bubblewrap. These run with useBwrap: 'always', so on a machine without a
 * working bwrap (Debian package bubblewrap) they fail at start() instead of passing silently.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool } from '../../helpers/system-tools.js';
import { waitFor } from '../../helpers/wait.js';
import { Harness, configMap, isAlive, keyOf, makePod, secret, sh } from './helpers.js';

const harnesses: Harness[] = [];
const removeAfter: string[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.cleanup();
  for (const dir of removeAfter.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function harness(...objects: ReturnType<typeof configMap>[]): Promise<Harness> {
  return harnessWith({}, ...objects);
}

async function harnessWith(overrides: ConstructorParameters<typeof Harness>[0], ...objects: ReturnType<typeof configMap>[]): Promise<Harness> {
  requireTool('bwrap');
  const created = new Harness({ useBwrap: 'always', ...overrides }, objects);
  harnesses.push(created);
  await created.runtime.start();
  expect(created.runtime.sandboxKind).toBe('bwrap');
  return created;
}

function logOf(h: Harness, key: string, container: string): string {
  const found = h.states().find(({ state }) => state.key === key);
  try {
    return found ? readFileSync(path.join(path.dirname(found.file), 'logs', `${container}.log`), 'utf8') : '';
  } catch {
    return '';
  }
}

function waitLog(h: Harness, key: string, container: string, text: string): Promise<string> {
  return waitFor(() => {
    const log = logOf(h, key, container);
    return log.includes(text) ? log : undefined;
  }, { what: `${JSON.stringify(text)} in the log` });
}

describe('bwrap sandbox', () => {
  it('mounts volumes at their mountPaths (readOnly honoured) on a read-only host with a private /tmp, its own PID namespace and hostname', async () => {
    const h = await harness(configMap('cfg', { 'app.conf': 'port=80' }));
    const script = [
      'echo "conf=$(cat /etc/edge-runtime-test/config/app.conf)"',
      'echo "var=$EDGE_VOLUME_CONFIG"',
      'echo "host=$(hostname)"',
      'echo "pid=$(readlink /proc/self)"',
      'touch /data/w && echo data=rw',
      'touch /ro/w 2>/dev/null || echo ro=denied',
      'touch /etc/edge-runtime-test/config/w 2>/dev/null || echo config=denied',
      'touch /usr/edge-runtime-test 2>/dev/null || echo usr=denied',
      'touch /etc/edge-runtime-test/new 2>/dev/null || echo etc=denied',
      'touch /tmp/mine && echo tmp=rw',
      'echo "datadir=$(ls -A "$DATA_DIR" | wc -l)"',
      'echo done',
      'exec sleep 60',
    ].join('; ');
    const pod = makePod({
      name: 'boxed',
      containers: [
        sh('app', script, {
          env: [{ name: 'DATA_DIR', value: h.dataDir }],
          volumeMounts: [
            { name: 'config', mountPath: '/etc/edge-runtime-test/config' },
            { name: 'data', mountPath: '/data' },
            { name: 'data', mountPath: '/ro', readOnly: true },
          ],
        }),
      ],
      volumes: [
        { name: 'config', configMap: { name: 'cfg' } },
        { name: 'data', emptyDir: {} },
      ],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    const log = await waitLog(h, key, 'app', 'done');
    const lines = new Set(log.trim().split('\n'));
    for (const line of ['conf=port=80', 'var=/etc/edge-runtime-test/config', 'host=boxed', 'data=rw', 'ro=denied', 'config=denied', 'usr=denied', 'etc=denied', 'tmp=rw', 'datadir=0']) {
      expect(lines, log).toContain(line);
    }
    const innerPid = Number([...lines].find((line) => line.startsWith('pid='))?.slice(4));
    expect(innerPid).toBeLessThan(10); // a fresh PID namespace
    // Writes to /data reached the volume on the host; /tmp stayed private.
    const dir = path.dirname(h.states()[0]!.file);
    expect(readFileSync(path.join(dir, 'volumes', 'data', 'w'), 'utf8')).toBe('');
  });

  it('hides the data directory, the Secret volumes\' directory and the token file; a Pod reads only its own Secret volume', async () => {
    // Outside /tmp, which every sandbox gets a private copy of anyway: /var/tmp is the host's.
    const outside = mkdtempSync('/var/tmp/edge-bwrap-hide-');
    removeAfter.push(outside);
    const dataDir = path.join(outside, 'data');
    const tokenFile = path.join(outside, 'etc', 'token');
    mkdirSync(path.dirname(tokenFile), { recursive: true });
    writeFileSync(tokenFile, 'the-hub-token\n', { mode: 0o640 });
    writeFileSync(path.join(outside, 'etc', 'other'), 'visible\n');
    const h = await harnessWith({ dataDir, secretFiles: [tokenFile] }, secret('creds', { password: 'pw-1' }));
    const script = [
      `cat ${tokenFile} >/dev/null 2>&1 && echo token=READ || echo token=denied`,
      `grep -q the-hub-token ${tokenFile} 2>/dev/null && echo token-content=READ || echo token-content=denied`,
      `echo "other=$(cat ${path.join(outside, 'etc', 'other')})"`,
      `echo "datadir=$(ls -A ${dataDir} 2>/dev/null | wc -l)"`,
      `echo "secrets=$(ls -A ${h.secretsDir.path} 2>/dev/null | wc -l)"`,
      'echo "own=$(cat /etc/creds/password)"',
      'echo done',
      'exec sleep 60',
    ].join('; ');
    const pod = makePod({ name: 'nosy', containers: [sh('app', script, { volumeMounts: [{ name: 'creds', mountPath: '/etc/creds' }] })], volumes: [{ name: 'creds', secret: { secretName: 'creds' } }] });
    await h.runtime.syncPod(pod);
    const log = await waitLog(h, keyOf(pod), 'app', 'done');
    const lines = new Set(log.trim().split('\n'));
    for (const line of ['token=denied', 'token-content=denied', 'other=visible', 'datadir=0', 'secrets=0', 'own=pw-1']) expect(lines, log).toContain(line);
    // Outside the sandbox everything is where it was.
    expect(readFileSync(tokenFile, 'utf8')).toBe('the-hub-token\n');
  });

  it('shows a ConfigMap update at the mountPath inside the sandbox', async () => {
    const h = await harness(configMap('cfg', { value: 'v1' }));
    const pod = makePod({
      containers: [sh('app', 'last=; while :; do v=$(cat /config/value); [ "$v" != "$last" ] && echo "value=$v"; last=$v; sleep 0.05; done', { volumeMounts: [{ name: 'config', mountPath: '/config' }] })],
      volumes: [{ name: 'config', configMap: { name: 'cfg' } }],
    });
    const key = keyOf(pod);
    await h.runtime.syncPod(pod);
    await waitLog(h, key, 'app', 'value=v1');
    h.lookup.put(configMap('cfg', { value: 'v2' }));
    await h.runtime.syncPod(pod);
    await waitLog(h, key, 'app', 'value=v2');
  });

  it('records exit codes and delivers SIGTERM to the sandboxed command, also after adoption', async () => {
    const h = await harness();
    const job = makePod({ name: 'job', restartPolicy: 'Never', containers: [sh('job', 'exit 7')] });
    const server = makePod({ name: 'server', containers: [sh('srv', "trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.05; done")] });
    await h.runtime.syncPod(job);
    await h.runtime.syncPod(server);
    expect(await h.waitTerminated(keyOf(job), 'job')).toMatchObject({ exitCode: 7, reason: 'Error' });
    const pid = await h.waitRunning(keyOf(server), 'srv');
    await waitLog(h, keyOf(server), 'srv', 'up');

    await h.runtime.stop();
    const second = h.create({ useBwrap: 'always' });
    await second.start();
    expect(h.pid(keyOf(server), 'srv')).toBe(pid);

    await second.killPod(keyOf(server), 10);
    // Exit code 0 below: the trap ran on SIGTERM; a SIGKILL at the end of the 10 s would be 137.
    expect(isAlive(pid)).toBe(false);
    expect(h.eventsOf('srv', 'Completed').map((event) => event.message)).toEqual(['Container srv exited with code 0']);
  });
});
