/** The agent's config file: precedence flag > environment > file > default, and errors that name the field. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, run, startProcess } from '../helpers/process.js';
import { makeTempDir } from '../helpers/tmp.js';

const dir = makeTempDir('edge-config-');
afterAll(() => dir.remove());

function config(name: string, text: string): string {
  const file = path.join(dir.path, name);
  writeFileSync(file, text);
  return file;
}

describe('edge-agent --config', () => {
  it('takes settings from the file, the environment over the file, and flags over both', async () => {
    const file = config('good.yaml', ['node: from-file', 'hub: ws://127.0.0.1:1', `data: ${path.join(dir.path, 'data-file')}`, 'localApi: 127.0.0.1:0', 'labels: { site: north, tier: edge }', 'logLevel: debug', ''].join('\n'));
    const agent = await startProcess(BIN.edgeAgent, ['--config', file, '--node', 'from-flag'], { env: { EDGE_DATA: path.join(dir.path, 'data-env'), EDGE_NODE: 'from-env' } });
    const ready = agent.logs.find((line) => line.msg === 'ready')!;
    expect(ready.node).toBe('from-flag');
    expect(ready.data).toBe(path.join(dir.path, 'data-env'));
    expect(ready.hub).toBe('ws://127.0.0.1:1/edge/v1/from-flag');
    expect(ready.localApi).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // debug from the file: the link's reconnect lines are logged.
    await agent.waitForLog((line) => line.level === 20);
    await agent.stop();
  });

  it.each([
    ['an unknown setting', 'hub: ws://x:1\nnode: a\nhubb: typo\n', /config .*: hubb: unknown setting/],
    ['an invalid node name', 'hub: ws://x:1\nnode: Not_Valid\n', /config .*: node: "Not_Valid" is not a valid node name/],
    ['a bad address', 'hub: ws://x:1\nnode: a\nmetrics: everywhere\n', /config .*: metrics: expected HOST:PORT/],
    ['a bad log level', 'hub: ws://x:1\nnode: a\nlogLevel: loud\n', /config .*: logLevel: expected one of/],
    ['a list where a flag takes one value', 'hub: [a, b]\nnode: a\n', /config .*: hub: expected a single value, not a list/],
    ['broken YAML', 'hub: "unterminated\n', /config .*: \(file\)/],
  ])('refuses %s, naming the field', async (_what, text, message) => {
    const result = await run(process.execPath, [BIN.edgeAgent, '--config', config(`bad-${Math.random()}.yaml`, text), '--data', path.join(dir.path, 'bad')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });

  it('says which setting is missing', async () => {
    const result = await run(process.execPath, [BIN.edgeAgent, '--config', config('no-hub.yaml', 'node: a\n')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--hub is required (or EDGE_HUB, or "hub:" in the config file)');
  });

  it('binds --kubelet-api-address on loopback only (it runs commands in Pods and has no authentication)', async () => {
    const result = await run(process.execPath, [BIN.edgeAgent, '--node', 'a', '--hub', 'ws://127.0.0.1:1', '--data', path.join(dir.path, 'kubelet'), '--kubelet-api-address', '0.0.0.0:10250']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--kubelet-api-address 0.0.0.0:10250: not a loopback address');
  });
});
