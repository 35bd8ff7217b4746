/**
 * `edge-sim --transport mqtt`: 200 virtual nodes through the hub's embedded broker, steady
 * churn, then the hub (and with it the broker) killed and restarted.
 */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { BIN, run } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';
import { expectWellFormedReport } from './report-checks.js';

const dir = makeTempDir('edge-sim-mqtt-');
afterAll(() => dir.remove());

it('steady and storm over MQTT: 200 nodes in sync through the embedded broker, no divergent node', async () => {
  const report = path.join(dir.path, 'mqtt.json');
  const { code, stderr } = await run(
    process.execPath,
    [BIN.edgeSim, '--transport', 'mqtt', '--nodes', '200', '--workers', '1', '--churn', '40', '--duration', '3', '--scenario', 'steady,storm', '--report', report],
    // A hang guard, not a speed target: 85-110 s on a loaded 2-core machine.
    { timeoutMs: 300_000, env: { LOG_LEVEL: 'info' } },
  );
  expect(code, stderr.slice(-3000)).toBe(0);
  const parsed = expectWellFormedReport(report, { nodes: 200, scenarios: ['steady', 'storm'], transport: 'mqtt' });
  expect(parsed.latency.samples).toBeGreaterThan(0);
  expect(parsed.scenarios[1]!.storm!.recovered).toBe(200);
}, 320_000);
