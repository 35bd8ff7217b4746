/** Where a session hands what the edge reports; implemented by cloud-hub/upstream. */
import type { ErrorCode, EventFrame, NodeInfo, StatusFrame } from '../../protocol/index.js';

/** Lets the upstream side answer the node that sent a frame. */
export interface NodeReply {
  /** Acknowledge `status`/`event` ids (handled: written, forwarded or refused). */
  ack(ids: readonly string[]): void;
  error(code: ErrorCode, message: string, ref?: string): void;
}

export interface UpstreamSink {
  /** A node said hello (every connect): register or update its Node object. */
  connected(node: string, hello: { info: NodeInfo; agent: string }, reply: NodeReply): void;
  heartbeat(node: string, ts: number): void;
  status(node: string, frame: StatusFrame, reply: NodeReply): void;
  event(node: string, frame: EventFrame, reply: NodeReply): void;
  /** The node's session ended (it may reconnect to this or another replica). */
  disconnected(node: string): void;
}
