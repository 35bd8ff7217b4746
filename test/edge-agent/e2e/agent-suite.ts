/**
 * The edge agent end to end: real API server, hub and agent processes, real SQLite files,
 * observed through the agent's local API and metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from '../../helpers/hub.js';
import { TestCluster, type AgentHandle } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import type { PreparedTransport, TransportCase } from './transports.js';

type Obj = Record<string, any>;
const NS = 'e2e';

/** The suite, once per transport: each transport's file calls this (files run in parallel). */
export function agentSuite(transport: TransportCase): void {
  describe(`edge agent over ${transport.name}`, () => {
    let cluster: TestCluster;
    let edge1: AgentHandle;
    let edge2: AgentHandle;
    let prepared: PreparedTransport;

    const cm = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data });
    const pod = (name: string, node: string, configMap: string, secret: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS },
      spec: {
        nodeName: node,
        containers: [{ name: 'app', image: 'app:1', command: ['sleep', '3600'], envFrom: [{ configMapRef: { name: configMap } }] }],
        volumes: [{ name: 'creds', secret: { secretName: secret } }],
      },
    });
    const local = (agent: AgentHandle, kind: 'pods' | 'configmaps' | 'secrets', name = '') => agent.get<Obj>(`/api/v1/namespaces/${NS}/${kind}${name ? `/${name}` : ''}`);

    beforeAll(async () => {
      cluster = new TestCluster();
      await cluster.start();
      await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
      await cluster.tokenFile('edge-1');
      await cluster.tokenFile('edge-2');
      prepared = await transport.prepare(cluster);
      if (prepared.hubArgs.length > 0) {
        await cluster.stopHub();
        await cluster.startHub(prepared.hubArgs);
      }
      edge1 = await cluster.startAgent('edge-1', { args: ['--local-api-secrets'], hubUrl: prepared.agentHubUrl });
      edge2 = await cluster.startAgent('edge-2', { args: ['--local-api-secrets'], hubUrl: prepared.agentHubUrl });
      await waitFor(async () => (await metricValue(edge1.metrics, 'edge_agent_connected')) === 1 && (await metricValue(edge2.metrics, 'edge_agent_connected')) === 1, {
        what: 'both agents connected',
      });
    });

    afterAll(async () => {
      await cluster?.close();
      await prepared?.mosquitto?.stop();
    });

    it('delivers a Pod with its ConfigMap and Secret to its node only, updates as patches, and removes them on delete', async () => {
      await cluster.client.create(`/api/v1/namespaces/${NS}/configmaps`, cm('web-config', { mode: 'edge' }));
      await cluster.client.create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-secret', namespace: NS }, data: { token: Buffer.from('hunter2').toString('base64') } });
      await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, pod('web', 'edge-1', 'web-config', 'web-secret'));
      await waitFor(async () => (await local(edge1, 'pods', 'web')) && (await local(edge1, 'configmaps', 'web-config')) && (await local(edge1, 'secrets', 'web-secret')), { what: 'pod, config and secret on edge-1' });
      const secret = (await local(edge1, 'secrets', 'web-secret'))!;
      expect(Buffer.from(secret.data.token, 'base64').toString()).toBe('hunter2');

      // edge-2 is in sync (its own Node arrived) and holds none of it.
      await waitFor(() => edge2.get('/api/v1/nodes/edge-2'), { what: 'edge-2 node object' });
      expect((await local(edge2, 'pods'))!.items).toEqual([]);
      expect((await local(edge2, 'configmaps'))!.items).toEqual([]);
      expect((await local(edge2, 'secrets'))!.items).toEqual([]);

      // The hub makes the Pod's outage tolerations unbounded (edge autonomy): that change comes
      // as a patch too, so count from after it.
      await waitFor(
        async () =>
          ((await local(edge1, 'pods', 'web'))?.spec.tolerations ?? []).some(
            (t: { key?: string; tolerationSeconds?: number }) => t.key === 'node.kubernetes.io/unreachable' && t.tolerationSeconds === undefined,
          ),
        { what: 'web made autonomous on edge-1' },
      );
      const patchesBefore = await metricValue(edge1.metrics, 'edge_agent_ops_total', { op: 'patch' });
      await cluster.client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/web-config`, { data: { mode: 'updated' } });
      await waitFor(async () => (await local(edge1, 'configmaps', 'web-config'))?.data.mode === 'updated', { what: 'updated config on edge-1' });
      expect(await metricValue(edge1.metrics, 'edge_agent_ops_total', { op: 'patch' })).toBe(patchesBefore + 1);

      await cluster.client.delete(`/api/v1/namespaces/${NS}/pods/web`, { gracePeriodSeconds: '0' });
      await waitFor(async () => !(await local(edge1, 'pods', 'web')) && !(await local(edge1, 'configmaps', 'web-config')) && !(await local(edge1, 'secrets', 'web-secret')), {
        what: 'pod, config and secret gone from edge-1',
      });
    });

    it('starts and serves its cache with the hub down, and converges after the hub returns', async () => {
      await cluster.client.create(`/api/v1/namespaces/${NS}/configmaps`, cm('offline-config', { v: '1' }));
      await cluster.client.create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'offline-secret', namespace: NS }, data: {} });
      await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, pod('offline', 'edge-1', 'offline-config', 'offline-secret'));
      await waitFor(() => local(edge1, 'configmaps', 'offline-config'), { what: 'offline-config on edge-1' });

      await cluster.stopHub();
      await edge1.stop();
      edge1 = await cluster.startAgent('edge-1', { args: ['--local-api-secrets'], hubUrl: prepared.agentHubUrl });
      // Ready with no hub: everything cached is served.
      expect((await local(edge1, 'configmaps', 'offline-config'))?.data.v).toBe('1');
      expect(await local(edge1, 'pods', 'offline')).toBeDefined();
      expect(await local(edge1, 'secrets', 'offline-secret')).toBeDefined();
      expect(await metricValue(edge1.metrics, 'edge_agent_connected')).toBe(0);

      // Changes while the hub is away.
      await cluster.client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/offline-config`, { data: { v: '2' } });
      await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, pod('while-away', 'edge-1', 'offline-config', 'offline-secret'));
      // Still the cached version, never wiped.
      expect((await local(edge1, 'configmaps', 'offline-config'))?.data.v).toBe('1');

      await cluster.startHub();
      await waitFor(async () => (await local(edge1, 'configmaps', 'offline-config'))?.data.v === '2' && (await local(edge1, 'pods', 'while-away')) !== undefined, {
        timeoutMs: 40_000,
        what: 'edge-1 converged after the hub returned',
      });
    }, 90_000);

    it('survives kill -9 at random moments during a stream of updates, 20 times, and converges', async () => {
      await cluster.client.create(`/api/v1/namespaces/${NS}/configmaps`, cm('stream-config', { n: '0' }));
      await cluster.client.create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'stream-secret', namespace: NS }, data: {} });
      await cluster.client.create(`/api/v1/namespaces/${NS}/pods`, pod('stream', 'edge-2', 'stream-config', 'stream-secret'));
      await waitFor(() => local(edge2, 'configmaps', 'stream-config'), { timeoutMs: 30_000, what: 'stream-config on edge-2' });
      let n = 0;
      let streaming = true;
      const writer = (async () => {
        while (streaming) {
          n += 1;
          await cluster.client.mergePatch(`/api/v1/namespaces/${NS}/configmaps/stream-config`, { data: { n: String(n), blob: 'x'.repeat(n % 7 * 300) } });
        }
      })();
      for (let i = 0; i < 20; i++) {
        // A random moment in the agent's life: right after start, mid-resync, or while streaming.
        const seenBefore = n;
        await waitFor(() => n >= seenBefore + 1 + Math.floor(Math.random() * 8), { what: 'updates flowing' });
        await edge2.kill();
        edge2 = await cluster.startAgent('edge-2', { args: ['--local-api-secrets'], hubUrl: prepared.agentHubUrl });
        // It opened the database: ready is logged only after the cache opened, and nothing was corrupt.
        expect(edge2.proc.logs.some((line) => /corrupt/i.test(String(line.msg)))).toBe(false);
      }
      streaming = false;
      await writer;
      await waitFor(async () => (await local(edge2, 'configmaps', 'stream-config'))?.data.n === String(n), { timeoutMs: 20_000, what: `edge-2 at update ${n}` });
      const resyncs = await metricValue(edge2.metrics, 'edge_agent_resyncs_total', { result: 'mismatch' });
      expect(resyncs).toBe(0);
    }, 480_000); // 20 agent starts: 80-180 s on a loaded 2-core machine; this only catches a hang
  });
}
