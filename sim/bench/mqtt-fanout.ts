/**
 * One change delivered to 1,000 nodes over mosquitto, next to a plain MQTT.js publish of the
 * same bytes to the same subscribers (the broker's own ceiling), in one run. The API server,
 * the hub and mosquitto run in their own processes; the nodes are the agent's link code.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { mosquittoAcl } from '../../cloud-hub/auth/broker-acl.js';
import { mosquittoPasswordFile, mosquittoPasswordHash } from '../../cloud-hub/auth/mosquitto-files.js';
import { FanoutFleet, seedSharedConfigFleet } from './fanout-fleet.js';
import { forEachLimited, median, readyz, startApiServer, startHubProcess, until } from './cluster.js';
import { verdict } from './measure.js';
import type { BenchSection } from './section.js';

const ROUNDS = 5;
const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function mqttFanoutBench(): Promise<BenchSection> {
  const nodeCount = Number(process.env.BENCH_MQTT_NODES ?? 1000);
  const names = Array.from({ length: nodeCount }, (_, i) => `mq-${String(i).padStart(5, '0')}`);
  const cluster = await startApiServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-mqtt-bench-'));
  let fleet: FanoutFleet | undefined;
  const logger = pino({ level: 'silent' });
  let broker: ReturnType<typeof spawn> | undefined;
  try {
    const { client } = cluster;
    const tokens = await cluster.tokens.createMany(names, 64);
    await seedSharedConfigFleet(client, names);

    // mosquitto with the node credentials, as `cloud-hub token mosquitto-auth` would write them.
    const port = await freePort();
    const hubPassword = 'bench-hub-password';
    writeFileSync(path.join(dir, 'hub-password'), hubPassword);
    writeFileSync(path.join(dir, 'passwd'), mosquittoPasswordFile([['_cloud-hub', mosquittoPasswordHash(hubPassword)], ['_bench', mosquittoPasswordHash(hubPassword)], ...names.map((n) => [n, mosquittoPasswordHash(tokens.get(n)!)] as [string, string])]), { mode: 0o600 });
    writeFileSync(path.join(dir, 'acl'), `${mosquittoAcl('_cloud-hub')}user _bench\ntopic readwrite bench/#\n`);
    writeFileSync(
      path.join(dir, 'mosquitto.conf'),
      [`listener ${port} 127.0.0.1`, `user ${userInfo().username}`, 'allow_anonymous false', `password_file ${dir}/passwd`, `acl_file ${dir}/acl`, 'max_queued_messages 10000', ''].join('\n'),
    );
    broker = spawn(MOSQUITTO, ['-c', path.join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    await until(() => new Promise<boolean>((resolve) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false))), 10_000, 'mosquitto');
    const brokerUrl = `mqtt://127.0.0.1:${port}`;

    const hub = await startHubProcess(cluster.kubeconfig, ['--heartbeat-interval', '30000', '--api-qps', '2000', '--mqtt', `mqtt://_cloud-hub@127.0.0.1:${port}`, '--mqtt-password-file', path.join(dir, 'hub-password'), '--shards', '0']);
    await until(() => readyz(hub.metrics), 60_000, 'hub informers synced');

    fleet = new FanoutFleet(brokerUrl, tokens, logger);
    await fleet.connect(25, 180_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const { times: hubTimes, frameBytes } = await fleet.rounds(client, ROUNDS);
    fleet.stop();
    await hub.proc.stop();

    // Baseline: MQTT.js publishing the same bytes to one topic per subscriber through the same broker.
    const subscribers: MqttClient[] = [];
    const received = new Map<number, number>();
    let current = 0;
    let last = 0;
    await forEachLimited(names, 50, async (name) => {
      const sub = await mqtt.connectAsync(brokerUrl, { username: '_bench', password: hubPassword, clientId: `sub-${name}`, protocolVersion: 4 });
      await sub.subscribeAsync(`bench/${name}`, { qos: 1 });
      sub.on('message', () => {
        received.set(current, (received.get(current) ?? 0) + 1);
        last = performance.now();
      });
      subscribers.push(sub);
    });
    const publisher = await mqtt.connectAsync(brokerUrl, { username: '_bench', password: hubPassword, clientId: 'bench-publisher', protocolVersion: 4 });
    const payload = Buffer.alloc(Math.max(1, frameBytes), 'x');
    const baseTimes: number[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      current = r;
      const started = performance.now();
      for (const name of names) publisher.publish(`bench/${name}`, payload, { qos: 1 });
      await until(() => (received.get(r) ?? 0) >= nodeCount, 60_000, `baseline round ${r}`, 1);
      baseTimes.push(last - started);
    }
    await publisher.endAsync();
    await Promise.all(subscribers.map((sub) => sub.endAsync()));

    const hubMedian = median(hubTimes);
    const baseMedian = median(baseTimes);
    return {
      title: `Fan-out over mosquitto to ${nodeCount.toLocaleString('en-US')} nodes (MQTT, QoS 1)`,
      header: ['measure', 'edge-sync hub', 'baseline', 'baseline is', 'target', 'verdict'],
      rows: [
        [
          `one ConfigMap change to all ${nodeCount} nodes, median of ${ROUNDS}, ms`,
          Number(hubMedian.toFixed(1)),
          Number(baseMedian.toFixed(1)),
          `MQTT.js publishing the same ${frameBytes} B to ${nodeCount} topics, one subscriber each`,
          'report',
          hubMedian <= baseMedian * 2 ? 'within 2x' : verdict(hubMedian, baseMedian * 2, false),
        ],
        ['  same, slowest round, ms', Number(Math.max(...hubTimes).toFixed(1)), Number(Math.max(...baseTimes).toFixed(1)), '', '', ''],
      ],
      notes: ['The hub round is timed from the API write to the last node applying the change; the baseline from the first publish to the last delivery.'],
    };
  } finally {
    fleet?.stop();
    if (broker && broker.exitCode === null) {
      broker.kill('SIGTERM');
      await once(broker, 'exit');
    }
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
