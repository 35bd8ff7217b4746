/**
 * TLS end to end: a real hub serving wss:// (and https health and metrics) with a CA it
 * generates in its data directory or with a certificate it is given, real agents that verify
 * it with --hub-ca, and the messages an operator gets when one side speaks TLS and the other
 * does not or does not trust the certificate.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureServingPki } from '../../cloud-hub/tls/pki.js';
import { startHub, type HubHandle } from '../helpers/hub.js';
import { BIN, run, startProcess, type RunningProcess } from '../helpers/process.js';
import { TestNode } from '../helpers/protocol-client.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const dir = makeTempDir('edge-hub-tls-');
const agents: RunningProcess[] = [];
const clients: TestNode[] = [];

/** GET over https trusting `ca`; resolves with the status and body. */
function httpsGet(url: string, ca: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function tokenFile(hub: HubHandle, node: string): Promise<string> {
  const file = path.join(dir.path, `${node}.token`);
  writeFileSync(file, `${await hub.tokens.create(node)}\n`, { mode: 0o600 });
  return file;
}

async function startAgent(node: string, hubUrl: string, token: string, extra: string[] = []): Promise<RunningProcess> {
  const agent = await startProcess(BIN.edgeAgent, ['--node', node, '--hub', hubUrl, '--data', path.join(dir.path, `agent-${node}-${agents.length}`), '--token-file', token, '--local-api', '127.0.0.1:0', '--sandbox', 'never', ...extra]);
  agents.push(agent);
  return agent;
}

async function syncedClient(hub: HubHandle, node: string, ca: string | Buffer): Promise<TestNode> {
  const token = await hub.tokens.create(node);
  const client = await waitFor(() => TestNode.connect(hub.ws, node, { token, ca }), { what: `${node} accepted over wss` });
  clients.push(client);
  client.hello([]);
  await client.waitForFrame((f) => f.t === 'synced', 15_000, 'synced over wss');
  return client;
}

afterAll(async () => {
  for (const client of clients) client.close();
  for (const agent of agents) await agent.stop();
  dir.remove();
});

describe('a hub with a CA it generates (--tls)', () => {
  let hub: HubHandle;
  let ca: string;

  beforeAll(async () => {
    hub = await startHub({ args: ['--tls', '--metrics-tls'] });
    const ready = hub.proc.logs.find((line) => line.msg === 'ready')!;
    expect(hub.ws).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    expect(hub.metrics).toMatch(/^https:\/\//);
    expect(ready.hubCa).toBe(path.join(hub.data, 'hub-ca.crt'));
    ca = readFileSync(ready.hubCa as string, 'utf8');
  });

  afterAll(async () => hub?.stop());

  it('keeps the CA key private and serves wss://, https health and https metrics signed by that CA', async () => {
    expect(statSync(path.join(hub.data, 'hub-ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(hub.data, 'hub.key')).mode & 0o777).toBe(0o600);
    await syncedClient(hub, 'tls-client', ca);
    expect(await httpsGet(`${hub.ws.replace('wss:', 'https:')}/healthz`, ca)).toEqual({ status: 200, body: 'ok\n' });
    const metrics = await httpsGet(`${hub.metrics}/metrics`, ca);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('edge_hub_refusals_total');
  });

  it('an agent given the CA with --hub-ca syncs; one without it refuses the hub and says how to fix it', async () => {
    const trusting = await startAgent('tls-agent', hub.ws, await tokenFile(hub, 'tls-agent'), ['--hub-ca', path.join(hub.data, 'hub-ca.crt')]);
    await trusting.waitForLog((line) => line.msg === 'in sync with the hub', 20_000, 'in sync over wss');

    const doubting = await startAgent('tls-doubter', hub.ws, await tokenFile(hub, 'tls-doubter'));
    const failure = await doubting.waitForLog((line) => line.msg === 'cannot reach the hub', 20_000, 'a refused certificate');
    expect(failure.err).toMatch(/not signed by a CA this agent trusts: pass the hub's CA with --hub-ca FILE/);
    expect(doubting.logs.some((line) => line.msg === 'in sync with the hub')).toBe(false);
  });

  it('an agent that speaks plain ws:// to it is told to use wss://', async () => {
    const plain = await startAgent('tls-plain', hub.ws.replace('wss:', 'ws:'), await tokenFile(hub, 'tls-plain'));
    const failure = await plain.waitForLog((line) => line.msg === 'cannot reach the hub', 20_000, 'a failed plain connection');
    expect(failure.err).toMatch(/if the hub serves TLS, use wss:\/\//);
  });

  it('keeps its CA across a restart, so agents keep trusting it', async () => {
    await hub.proc.stop();
    hub = await hub.restart();
    expect(readFileSync(path.join(hub.data, 'hub-ca.crt'), 'utf8')).toBe(ca);
    await syncedClient(hub, 'tls-after-restart', ca);
  });
});

describe('a hub with a certificate it is given (--tls-cert/--tls-key)', () => {
  it('serves wss:// with it, and refuses to start with a key that does not match', async () => {
    const pkiDir = makeTempDir('edge-given-pki-');
    const identity = { name: 'given', caCommonName: 'test-ca', servingCommonName: 'test-hub' };
    const given = await ensureServingPki(pkiDir.path, '127.0.0.1', identity);
    const other = await ensureServingPki(path.join(pkiDir.path), '127.0.0.1', { ...identity, name: 'other' });
    const hub = await startHub({ args: ['--tls-cert', given.files.certPath, '--tls-key', given.files.keyPath] });
    try {
      expect(hub.ws).toMatch(/^wss:/);
      expect(hub.proc.logs.find((line) => line.msg === 'ready')!.hubCa).toBeUndefined();
      await syncedClient(hub, 'given-client', given.caCertPem);
    } finally {
      await hub.stop();
    }
    const mismatched = await run(process.execPath, [BIN.cloudHub, '--embedded', '--data', path.join(pkiDir.path, 'hub'), '--listen', '127.0.0.1:0', '--api-listen', '127.0.0.1:0', '--tls-cert', given.files.certPath, '--tls-key', other.files.keyPath]);
    expect(mismatched.code).toBe(1);
    expect(mismatched.stderr).toContain(`--tls-cert ${given.files.certPath} / --tls-key ${other.files.keyPath}`);
    const alone = await run(process.execPath, [BIN.cloudHub, '--embedded', '--data', path.join(pkiDir.path, 'hub'), '--listen', '127.0.0.1:0', '--api-listen', '127.0.0.1:0', '--tls-cert', given.files.certPath]);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain('--tls-cert and --tls-key go together');
    pkiDir.remove();
  });
});
