/**
 * The agent's kubelet API for container Pods (--container-runtime-endpoint, a private containerd):
 * logs from the CRI log files (per-line times: timestamps, since; tail; follow; previous after a
 * crash), exec proxied to containerd's streaming server, and stats from ListContainerStats that
 * move with a busy loop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, type AgentHandle } from '../../helpers/cluster.js';
import { Containerd } from '../../helpers/containerd.js';
import { buildTestImages, type TestImages } from '../../helpers/test-images.js';
import { waitFor } from '../../helpers/wait.js';
import { channelExec, get, readUntil } from '../kubelet-api/helpers.js';

type Obj = Record<string, any>;
const NS = 'default';
const NODE = 'box-kubelet';

let images: TestImages;
let containerd: Containerd;
let cluster: TestCluster;
let agent: AgentHandle;
let api: string;

beforeAll(async () => {
  images = await buildTestImages();
  containerd = await Containerd.start({ images: [images.busybox, images.pause], sandboxImage: images.pause.reference });
  cluster = await new TestCluster().start();
  await cluster.tokenFile(NODE);
  agent = await cluster.startAgent(NODE, { args: ['--container-runtime-endpoint', containerd.endpoint, '--restart-backoff-initial', '300', '--restart-backoff-max', '1200', '--kubelet-api-address', '127.0.0.1:0'] });
  api = agent.proc.logs.find((line) => line.msg === 'ready')!.kubeletApi as string;
}, 240_000);

afterAll(async () => {
  await cluster?.close();
  await containerd?.stop();
}, 120_000);

async function createPod(name: string, script: string, restartPolicy = 'Always'): Promise<void> {
  await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeName: NODE, restartPolicy, containers: [{ name: 'main', image: images.busybox.reference, command: ['sh', '-c', script] }] },
  });
}

const logs = (pod: string, query = '') => get(`${api}/containerLogs/${NS}/${pod}/main${query ? `?${query}` : ''}`);

describe('the kubelet API over CRI', () => {
  it('logs: whole, tail, timestamps from the CRI lines, since, follow', async () => {
    await createPod('talk', 'echo one; echo two; echo three; while true; do sleep 0.3; echo tick; done');
    const all = await waitFor(async () => {
      const answer = await logs('talk');
      return answer.status === 200 && answer.body.includes('three') ? answer.body : undefined;
    }, { timeoutMs: 90_000, what: 'the container\'s log' });
    expect(all.startsWith('one\ntwo\nthree\n')).toBe(true);
    const stamped = (await logs('talk', 'timestamps=true&limitBytes=200')).body.split('\n')[0]!;
    const [time, text] = stamped.split(' ');
    expect(text).toBe('one');
    expect(Date.parse(time!)).toBeGreaterThan(Date.now() - 5 * 60_000);
    expect((await logs('talk', 'tailLines=1')).body).toMatch(/^(tick|three)\n$/);
    // Lines are stamped: since a moment after "one" was written drops it.
    expect((await logs('talk', `sinceTime=${encodeURIComponent(new Date(Date.parse(time!) + 1).toISOString())}`)).body.startsWith('one\n')).toBe(false);
    expect((await logs('talk', 'sinceSeconds=3600')).body.startsWith('one\ntwo\nthree\n')).toBe(true);
    const before = (await logs('talk')).body.split('\n').length;
    const followed = await readUntil(`${api}/containerLogs/${NS}/talk/main?follow=true`, (got) => got.split('\n').length > before + 1);
    expect(followed.startsWith('one\ntwo\nthree\n')).toBe(true);
  });

  it('previous: the log of the instance before the running one', async () => {
    await createPod('crash', 'echo "attempt $(date +%s)"; sleep 0.5; exit 1');
    const first = await waitFor(async () => {
      const answer = await logs('crash', 'previous=true');
      return answer.status === 200 && answer.body.startsWith('attempt') ? answer.body : undefined;
    }, { timeoutMs: 90_000, what: 'a previous instance\'s log' });
    expect(first).toMatch(/^attempt \d+\n$/);
    expect((await logs('other-pod')).status).toBe(404);
  });

  it('exec is proxied to containerd\'s streaming server (WebSocket v4)', async () => {
    const result = await channelExec(`${api}/exec/${NS}/talk/main?command=sh&command=-c&command=head%20-n1%3B%20echo%20err%20%3E%262%3B%20exit%204&input=1&output=1&error=1`, 'v4.channel.k8s.io', 'typed in\n');
    expect(result.stdout).toBe('typed in\n');
    expect(result.stderr).toBe('err\n');
    expect(result.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '4' }] } });
  });

  it('stats: a busy container\'s CPU time grows in the summary and in metrics/resource', async () => {
    await createPod('busy', 'while :; do :; done');
    const read = async () => {
      const summary = JSON.parse((await get(`${api}/stats/summary`)).body) as Obj;
      return summary.pods.find((pod: Obj) => pod.podRef.name === 'busy')?.containers.find((c: Obj) => c.name === 'main') as Obj | undefined;
    };
    const first = await waitFor(async () => {
      const container = await read();
      return container && container.cpu.usageCoreNanoSeconds > 0 ? container : undefined;
    }, { timeoutMs: 90_000, what: 'the busy container in the summary' });
    await waitFor(async () => ((await read())?.cpu.usageCoreNanoSeconds ?? 0) > first.cpu.usageCoreNanoSeconds, { what: 'its CPU time to grow' });
    expect(first.memory.workingSetBytes).toBeGreaterThan(0);
    const metrics = (await get(`${api}/metrics/resource`)).body;
    expect(metrics).toMatch(/^container_cpu_usage_seconds_total\{container="main",namespace="default",pod="busy"\} [\d.e+-]+ \d+$/m);
  });
});
