/**
 * What the edge reports, written to Kubernetes: Node registration and status, Leases from
 * heartbeats, NotReady when a node goes quiet, Pod status, and forwarded events.
 */
import type { Logger } from 'pino';
import type { EventFrame, NodeInfo, StatusFrame } from '../../protocol/index.js';
import type { NodeReply, UpstreamSink } from '../session/upstream-sink.js';
import type { LeaseRenewer } from './lease-renewer.js';
import type { NodeHealthMonitor } from './node-health-monitor.js';
import type { NodeRegistrar } from './node-registrar.js';
import type { PodStatusWriter } from './pod-status-writer.js';

export interface EventSink {
  accept(node: string, frame: EventFrame, reply: NodeReply): void;
}

export interface KubeUpstreamDeps {
  registrar: NodeRegistrar;
  leases: LeaseRenewer;
  health: NodeHealthMonitor;
  podStatus: PodStatusWriter;
  events: EventSink;
  logger: Logger;
}

export class KubeUpstream implements UpstreamSink {
  constructor(private readonly deps: KubeUpstreamDeps) {}

  connected(node: string, hello: { info: NodeInfo; agent: string }): void {
    this.deps.health.reset(node);
    this.deps.leases.connected(node);
    this.deps.registrar.connected(node, hello.info, hello.agent);
  }

  heartbeat(node: string): void {
    this.deps.leases.heartbeat(node);
  }

  status(node: string, frame: StatusFrame, reply: NodeReply): void {
    this.deps.podStatus.write(node, frame, reply);
  }

  event(node: string, frame: EventFrame, reply: NodeReply): void {
    this.deps.events.accept(node, frame, reply);
  }

  disconnected(node: string): void {
    this.deps.leases.forget(node);
  }
}
