/**
 * Upstream events end to end: a real local mosquitto on the "device", the agent filtering what
 * it publishes with rules from a cloud ConfigMap, the SQLite outbox while offline (byte budget,
 * priorities, kill -9), and a webhook as the cloud sink that must see each event once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeEvent } from '../../../protocol/index.js';
import { TestCluster, type AgentHandle } from '../../helpers/cluster.js';
import { metricValue } from '../../helpers/hub.js';
import { LocalBroker, MOSQUITTO } from '../../helpers/mosquitto.js';
import { requireTool } from '../../helpers/system-tools.js';
import { waitFor } from '../../helpers/wait.js';

const RULES_PATH = '/api/v1/namespaces/edge-system/configmaps';

function rulesConfigMap(text: string) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'edge-rules', namespace: 'edge-system', labels: { 'edge-sync.io/filter-rules': 'true' } }, data: { 'rules.yaml': text } };
}

const INITIAL_RULES = `
rules:
  - name: alerts-off
    match: { source: bus, topic: "alerts/#" }
    action: drop
`;

const RULES = `
rules:
  - name: alerts
    match: { source: bus, topic: "alerts/#" }
    action: { type: forward, priority: 9, ttl: 1d }
  - name: noise
    match: { source: bus, topic: "noise/#" }
    action: { type: forward, priority: 1, ttl: 1d }
  - name: sensors
    match: { source: bus, topic: "sensors/#" }
    action: { type: sample, every: 100, priority: 2, ttl: 1d }
defaults: { unmatched: drop }
`;

describe('upstream events through the filter and the outbox', () => {
  let cluster: TestCluster;
  let bus: LocalBroker;
  let publisher: MqttClient;
  let agent: AgentHandle;
  let sink: http.Server;
  const delivered: EdgeEvent[] = [];
  let agentArgs: string[];

  beforeAll(async () => {
    sink = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        delivered.push(...(JSON.parse(body) as { events: EdgeEvent[] }).events);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', () => resolve()));
    cluster = new TestCluster();
    await cluster.start(['--event-webhook', `http://127.0.0.1:${(sink.address() as AddressInfo).port}/events`]);
    requireTool(MOSQUITTO, 'mosquitto');
    bus = await new LocalBroker(cluster.dir.path).start();
    publisher = await mqtt.connectAsync(bus.url, { clientId: 'device-app', protocolVersion: 4 });
    await cluster.client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'edge-system' } }).catch(() => undefined);
    await cluster.client.create(RULES_PATH, rulesConfigMap(INITIAL_RULES));
    await cluster.tokenFile('edge-ev');
    agentArgs = ['--local-mqtt', bus.url, '--local-mqtt-topics', 'alerts/#,noise/#,sensors/#', '--outbox-max-bytes', String(1024 * 1024)];
    agent = await cluster.startAgent('edge-ev', { args: agentArgs });
    await waitFor(() => agent.get('/api/v1/namespaces/edge-system/configmaps/edge-rules'), { what: 'rules ConfigMap on the node' });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await cluster?.close();
    await bus?.stop();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });

  const alertsDelivered = () => delivered.filter((event) => event.topic?.startsWith('alerts/'));

  it('applies a rule update from the cloud to the next event', async () => {
    await publisher.publishAsync('alerts/door', JSON.stringify({ seq: -1 }), { qos: 1 });
    await waitFor(async () => (await metricValue(agent.metrics, 'edge_agent_events_total', { result: 'dropped' })) >= 1, { what: 'alert dropped under the first rules' });
    await cluster.client.replace(`${RULES_PATH}/edge-rules`, rulesConfigMap(RULES));
    await waitFor(async () => ((await agent.get<{ data: Record<string, string> }>('/api/v1/namespaces/edge-system/configmaps/edge-rules'))?.data['rules.yaml'] ?? '').includes('noise'), {
      what: 'new rules on the node',
    });
    await publisher.publishAsync('alerts/door', JSON.stringify({ seq: -2 }), { qos: 1 });
    await waitFor(() => alertsDelivered().some((event) => (event.payload as { seq: number }).seq === -2), { what: 'alert forwarded under the new rules' });
    expect(alertsDelivered().some((event) => (event.payload as { seq: number }).seq === -1)).toBe(false);
  });

  it('offline: keeps 1,000 priority events through overflow and a kill -9, delivers each exactly once after reconnect', async () => {
    await cluster.stopHub();
    await waitFor(async () => (await metricValue(agent.metrics, 'edge_agent_connected')) === 0, { what: 'agent offline' });
    const before = delivered.length;
    // Interleaved: 1,000 alerts (priority 9), 10,000 noise (priority 1), 2,000 readings (1 in 100 kept).
    for (let i = 0; i < 10_000; i++) {
      publisher.publish('noise/chatter', JSON.stringify({ i, pad: 'n'.repeat(150) }), { qos: 0 });
      if (i % 10 === 0) publisher.publish('alerts/fire', JSON.stringify({ seq: i / 10, severity: 'high' }), { qos: 1 });
      if (i % 5 === 0) publisher.publish('sensors/temp', JSON.stringify({ value: 20 + (i % 7) }), { qos: 0 });
    }
    await publisher.publishAsync('alerts/fire', JSON.stringify({ seq: 'last' }), { qos: 1 });
    const offered = async () => (await metricValue(agent.metrics, 'edge_agent_events_total', { result: 'forwarded' })) + (await metricValue(agent.metrics, 'edge_agent_events_total', { result: 'sampledOut' }));
    await waitFor(async () => (await offered()) >= 13_001 + 1, { timeoutMs: 60_000, what: 'every message offered to the filter' });
    const overflowed = await metricValue(agent.metrics, 'edge_agent_outbox_dropped', { reason: 'overflow' });
    expect(overflowed).toBeGreaterThan(0);
    expect(delivered.length).toBe(before);

    // kill -9 with everything queued on disk, start again, then bring the hub back.
    await agent.kill();
    agent = await cluster.startAgent('edge-ev', { args: agentArgs });
    expect(await metricValue(agent.metrics, 'edge_agent_outbox_items')).toBeGreaterThan(1_000);
    await cluster.startHub();
    await waitFor(() => alertsDelivered().filter((event) => (event.payload as { seq: unknown }).seq === 'last').length === 1, { timeoutMs: 60_000, what: 'the last alert' });
    await waitFor(async () => (await metricValue(agent.metrics, 'edge_agent_outbox_items')) === 0, { timeoutMs: 60_000, what: 'outbox drained' });

    const seqs = alertsDelivered().map((event) => (event.payload as { seq: unknown }).seq).filter((seq) => typeof seq === 'number' && seq >= 0);
    expect(seqs).toHaveLength(1_000);
    expect(new Set(seqs).size).toBe(1_000);
    // Ids are unique too: nothing reached the sink twice.
    const ids = delivered.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Noise was cut by the byte budget, lowest priority first; readings by sampling.
    const noise = delivered.slice(before).filter((event) => event.topic === 'noise/chatter').length;
    expect(noise).toBeLessThan(10_000);
    expect(noise + overflowed).toBe(10_000);
    const readings = delivered.slice(before).filter((event) => event.topic === 'sensors/temp').length;
    expect(readings).toBe(20);
  }, 180_000);
});
