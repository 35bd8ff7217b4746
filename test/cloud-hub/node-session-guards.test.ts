/**
 * A NodeSession's guards, in-process with the real session, fleet view and limiter: a
 * failure inside the hub while handling a frame is answered E_INTERNAL and the session goes
 * on; over a transport that cannot stop reading one node (MQTT), a node over its inbound limit
 * has its frames handled at its rate (dropped only past a bounded queue) and hears
 * E_RATE_LIMITED once, not once per frame.
 *
 * The only stand-ins are the two ends that need a network or a cluster: a connection that
 * records what the session sends, and an upstream whose status write fails (the failure this
 * test is about cannot be produced by a node from outside).
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { decode, type CloudFrame, type ErrorFrame } from '../../protocol/index.js';
import { HubMetrics } from '../../cloud-hub/observability/hub-metrics.js';
import { FleetView } from '../../cloud-hub/fleet/fleet-view.js';
import { MAX_QUEUED_FRAMES } from '../../cloud-hub/session/inbound-gate.js';
import { InboundLimiter } from '../../cloud-hub/session/inbound-limiter.js';
import { DEFAULT_NODE_LIMITS, LimitMetrics, type NodeLimits } from '../../cloud-hub/session/node-limits.js';
import { NodeSession } from '../../cloud-hub/session/node-session.js';
import { SharedOpBytes } from '../../cloud-hub/session/op-bytes.js';
import type { UpstreamSink } from '../../cloud-hub/session/upstream-sink.js';
import type { Connection } from '../../cloud-hub/transport/connection.js';
import { TEST_NODE_INFO } from '../helpers/protocol-client.js';
import { waitFor } from '../helpers/wait.js';

function session(options: { upstream?: Partial<UpstreamSink>; limits?: Partial<NodeLimits> } = {}) {
  const sent: CloudFrame[] = [];
  const closes: number[] = [];
  const connection: Connection = {
    description: 'in-process',
    send: (text) => sent.push(decode(text) as CloudFrame),
    close: (code) => closes.push(code),
  };
  const registry = new Registry();
  const limits = { ...DEFAULT_NODE_LIMITS, ...options.limits };
  const upstream: UpstreamSink = {
    connected: () => undefined,
    heartbeat: () => undefined,
    status: (_node, frame, reply) => reply.ack([frame.id]),
    event: () => undefined,
    disconnected: () => undefined,
    ...options.upstream,
  };
  const limitMetrics = new LimitMetrics(registry, limits, 4 * 1024 * 1024);
  const node = new NodeSession({
    node: 'edge-1',
    connection,
    desired: new FleetView(),
    upstream,
    settings: { hubId: 'test', heartbeatMs: 10_000, maxFrameBytes: 4 * 1024 * 1024, window: 16 },
    metrics: new HubMetrics(registry),
    logger: pino({ level: 'silent' }),
    sourceReady: () => Promise.resolve(),
    onClosed: () => undefined,
    limiter: new InboundLimiter(limits, 4 * 1024 * 1024),
    limitMetrics,
    opBytes: new SharedOpBytes(),
  });
  const hello = () => node.receive(JSON.stringify({ v: 1, t: 'hello', node: 'edge-1', agent: 't', caps: [], info: TEST_NODE_INFO, digest: 'x', have: [] }));
  const refusals = async (reason: string) => (await registry.getSingleMetric('edge_hub_refusals_total')!.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { node, sent, closes, hello, refusals, errors: () => sent.filter((f): f is ErrorFrame => f.t === 'error') };
}

const status = (id: string) => JSON.stringify({ v: 1, t: 'status', id, pods: [{ ns: 'default', name: 'web', uid: 'u-1', status: { phase: 'Running' } }] });

describe('NodeSession guards', () => {
  it('answers a hub failure while handling a frame with E_INTERNAL, and keeps serving the node', async () => {
    let failures = 1;
    const s = session({
      upstream: {
        status: (_node, frame, reply) => {
          if (failures-- > 0) throw new Error('write queue exploded');
          reply.ack([frame.id]);
        },
      },
    });
    s.hello();
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => s.node.receive(status('s-1'))).not.toThrow();
    expect(s.errors()).toEqual([expect.objectContaining({ code: 'E_INTERNAL', ref: 'status' })]);
    expect(await s.refusals('internal')).toBe(1);
    // The session is still open and the next frame is handled.
    s.node.receive(status('s-2'));
    expect(s.sent.at(-1)).toEqual({ v: 1, t: 'ack', ids: ['s-2'] });
    expect(s.closes).toEqual([]);
    expect(s.node.isClosed).toBe(false);
  });

  it('without a way to pause the node, handles frames over its limit at the rate instead, losing none, and says E_RATE_LIMITED once', async () => {
    const s = session({ limits: { frameRate: 10, burstSeconds: 1 } });
    s.hello();
    await new Promise((resolve) => setImmediate(resolve));
    const started = Date.now();
    for (let i = 0; i < 30; i++) s.node.receive(status(`s-${i}`));
    const acked = () => s.sent.flatMap((f) => (f.t === 'ack' ? (f.ids ?? []) : []));
    // The burst of 10 covers the first frames; the rest wait, and the node is told once.
    expect(acked().length).toBeGreaterThanOrEqual(10);
    expect(acked().length).toBeLessThan(30);
    expect(s.errors().map((f) => f.code)).toEqual(['E_RATE_LIMITED']);
    expect(s.errors()[0]!.msg).toMatch(/over this node's limit of 10 frames\/s: the hub handles its frames at that rate/);
    await waitFor(() => acked().length === 30, { what: 'every status frame handled' });
    expect(acked()).toEqual(Array.from({ length: 30 }, (_, i) => `s-${i}`));
    // Twenty frames over a full burst of 10, at 10 frames/s: about two seconds, never less.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_800);
    expect(s.errors()).toHaveLength(1);
    expect(await s.refusals('rate-frames')).toBeGreaterThanOrEqual(1);
    expect(await s.refusals('rate-dropped')).toBe(0);
  });

  it('drops what a flooding node sends beyond the frames it may have waiting', async () => {
    const s = session({ limits: { frameRate: 1, burstSeconds: 1 } });
    s.hello();
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < MAX_QUEUED_FRAMES + 50; i++) s.node.receive(status(`s-${i}`));
    // The hello and the first status frame took the burst (the second into debt); of the rest,
    // the queue holds what it may and the others are dropped.
    expect(s.sent.flatMap((f) => (f.t === 'ack' ? (f.ids ?? []) : []))).toEqual(['s-0']);
    expect(await s.refusals('rate-frames')).toBe(MAX_QUEUED_FRAMES);
    expect(await s.refusals('rate-dropped')).toBe(49);
    s.node.close(1000, 'test done');
  });
});
