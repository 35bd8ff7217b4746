/**
 * The agent's side of the link's security, with real processes: the token file's mode is
 * checked, a rotated token is picked up without a restart (re-read after a 401 and on SIGHUP),
 * an agent pointed at the wrong place or speaking TLS to a plain hub is told so plainly, and
 * mqtts:// verifies the broker with --hub-ca the way wss:// does.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttTransport } from '../../../edge-agent/link/mqtt-transport.js';
import { ensureServingPki } from '../../../cloud-hub/tls/pki.js';
import { startHub, type HubHandle } from '../../helpers/hub.js';
import { LocalBroker } from '../../helpers/mosquitto.js';
import { BIN, run, startProcess, type RunningProcess } from '../../helpers/process.js';
import { makeTempDir } from '../../helpers/tmp.js';

const dir = makeTempDir('edge-link-security-');
const agents: RunningProcess[] = [];
let hub: HubHandle;

function agentArgs(node: string, hubUrl: string, tokenFile: string): string[] {
  return ['--node', node, '--hub', hubUrl, '--data', path.join(dir.path, `agent-${node}-${agents.length}`), '--token-file', tokenFile, '--local-api', '127.0.0.1:0', '--sandbox', 'never'];
}

async function startAgent(node: string, hubUrl: string, tokenFile: string): Promise<RunningProcess> {
  const agent = await startProcess(BIN.edgeAgent, agentArgs(node, hubUrl, tokenFile));
  agents.push(agent);
  return agent;
}

function writeToken(node: string, token: string, mode = 0o600): string {
  const file = path.join(dir.path, `${node}.token`);
  writeFileSync(file, `${token}\n`, { mode });
  chmodSync(file, mode);
  return file;
}

/** Log lines after the first `count` ones matching `predicate`. */
function countLogs(agent: RunningProcess, predicate: (line: Record<string, unknown>) => boolean): number {
  return agent.logs.filter(predicate).length;
}

beforeAll(async () => {
  hub = await startHub();
});

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await hub?.stop();
  dir.remove();
});

describe('the token file', () => {
  it('is refused when its group or other users can access it, naming the file, the mode and the fix', async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o620]) {
      const file = writeToken('edge-mode', 'some-token', mode);
      const result = await run(process.execPath, [BIN.edgeAgent, ...agentArgs('edge-mode', hub.ws, file)], { timeoutMs: 30_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`--token-file ${file}: mode 0${mode.toString(8)} lets`);
      expect(result.stderr).toContain(`chmod 600 ${file}`);
    }
    // The owner alone may read it: the agent starts.
    for (const mode of [0o600, 0o400]) {
      const agent = await startAgent('edge-mode', hub.ws, writeToken('edge-mode', 'some-token', mode));
      expect(agent.running).toBe(true);
      await agent.stop();
    }
  });

  it('is read again on SIGHUP, and a file that became unsafe is reported while the token in use is kept', async () => {
    const file = writeToken('edge-hup', await hub.tokens.create('edge-hup'));
    const agent = await startAgent('edge-hup', hub.ws, file);
    await agent.waitForLog((line) => line.msg === 'in sync with the hub', 20_000, 'in sync');
    writeToken('edge-hup', 'a-token-the-hub-does-not-know');
    agent.child.kill('SIGHUP');
    const changed = await agent.waitForLog((line) => line.msg === 'token file changed; using the new token from the next connection on', 10_000, 'token re-read on SIGHUP');
    expect(changed.reason).toBe('SIGHUP');
    chmodSync(file, 0o644);
    agent.child.kill('SIGHUP');
    const refused = await agent.waitForLog((line) => line.msg === 'cannot read the token file again; keeping the token in use', 10_000, 'unsafe token file reported');
    expect(refused.err).toContain('mode 0644');
    expect(agent.running).toBe(true);
  });

  it('is read again after a 401, so a rotated token needs no restart', async () => {
    const file = writeToken('edge-rotate', await hub.tokens.create('edge-rotate'));
    const agent = await startAgent('edge-rotate', hub.ws, file);
    await agent.waitForLog((line) => line.msg === 'in sync with the hub', 20_000, 'in sync');
    const syncedBefore = countLogs(agent, (line) => line.msg === 'in sync with the hub');
    // `token create` for a node that has a token retires the old one: the hub disconnects it.
    const rotated = await hub.tokens.create('edge-rotate');
    await agent.waitForLog((line) => line.msg === 'hub refused this node; check the token', 20_000, 'the old token refused');
    writeToken('edge-rotate', rotated);
    const changed = await agent.waitForLog((line) => line.msg === 'token file changed; using the new token from the next connection on', 60_000, 'token re-read after a 401');
    expect(changed.reason).toBe('the hub refused the token');
    await agent.waitForLog(() => countLogs(agent, (line) => line.msg === 'in sync with the hub') > syncedBefore, 60_000, 'in sync with the new token');
    expect(agent.running).toBe(true);
  });
});

describe('messages that point the right way', () => {
  it('an agent pointed at the hub\'s metrics port is told it is not an edge-sync hub endpoint, not to check its token', async () => {
    const agent = await startAgent('edge-lost', hub.metrics.replace(/^http/, 'ws'), writeToken('edge-lost', 'whatever'));
    const failure = await agent.waitForLog((line) => line.msg === 'cannot reach the hub', 20_000, 'a failed connection');
    expect(failure.err).toMatch(/is not an edge-sync hub endpoint \(HTTP 404: not found; this is the hub's metrics address/);
    expect(agent.logs.some((line) => line.msg === 'hub refused this node; check the token')).toBe(false);
  });

  it('an agent speaking wss:// to a plain hub is told the hub does not speak TLS there', async () => {
    const agent = await startAgent('edge-tls', hub.ws.replace(/^ws:/, 'wss:'), writeToken('edge-tls', 'whatever'));
    const failure = await agent.waitForLog((line) => line.msg === 'cannot reach the hub', 20_000, 'a failed connection');
    expect(failure.err).toMatch(/does not speak TLS: the hub \(or broker\) there serves plain ws:\/\/; use that, or start the hub with --tls/);
  });
});

describe('mqtts://', () => {
  let secure: LocalBroker;
  let plain: LocalBroker;
  let caPem: string;

  beforeAll(async () => {
    const pki = await ensureServingPki(dir.path, '127.0.0.1', { name: 'broker', caCommonName: 'test-broker-ca', servingCommonName: 'test-broker' });
    caPem = pki.caCertPem;
    secure = await new LocalBroker(dir.path, { certFile: pki.files.certPath, keyFile: pki.files.keyPath }).start();
    plain = await new LocalBroker(dir.path).start();
  });

  afterAll(async () => {
    await secure?.stop();
    await plain?.stop();
  });

  const events = { message: () => undefined, closed: () => undefined };

  it('connects to a TLS broker whose CA it is given, and refuses one it cannot verify, saying how to fix it', async () => {
    const trusting = await new MqttTransport({ brokerUrl: secure.url, node: 'edge-mqtts', ca: Buffer.from(caPem), protocolVersion: 4 }).connect(events);
    trusting.close('done');
    await expect(new MqttTransport({ brokerUrl: secure.url, node: 'edge-mqtts', protocolVersion: 4 }).connect(events)).rejects.toThrow(/not signed by a CA this agent trusts: pass the hub's CA with --hub-ca FILE/);
  });

  it('says a plain broker does not speak TLS', async () => {
    await expect(new MqttTransport({ brokerUrl: plain.url.replace('mqtt:', 'mqtts:'), node: 'edge-mqtts', ca: Buffer.from(caPem), protocolVersion: 4 }).connect(events)).rejects.toThrow(/does not speak TLS/);
  });
});
