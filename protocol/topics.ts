/**
 * MQTT topic names for protocol v1. Every node has its own subtree, so a broker ACL can give
 * node X exactly `edge/v1/X/#`-scoped rights (see protocol/README.md).
 */
import { assertNodeName, isNodeName } from './names.js';

export const TOPIC_ROOT = 'edge/v1';

/** Channels under a node's subtree: frames down, frames up, retained presence, forwarded events. */
export type TopicChannel = 'down' | 'up' | 'presence' | 'events';
export const TOPIC_CHANNELS: readonly TopicChannel[] = ['down', 'up', 'presence', 'events'];

export interface NodeTopics {
  /** Hub to node: protocol frames (QoS 1). */
  down: string;
  /** Node to hub: protocol frames (QoS 1). */
  up: string;
  /** Retained `online`/`offline`; the agent's last will is `offline`. */
  presence: string;
  /** Where the hub republishes the node's forwarded events for cloud consumers. */
  events: string;
}

export const PRESENCE_ONLINE = 'online';
export const PRESENCE_OFFLINE = 'offline';

export function nodeTopic(node: string, channel: TopicChannel): string {
  assertNodeName(node);
  return `${TOPIC_ROOT}/${node}/${channel}`;
}

export function nodeTopics(node: string): NodeTopics {
  return {
    down: nodeTopic(node, 'down'),
    up: nodeTopic(node, 'up'),
    presence: nodeTopic(node, 'presence'),
    events: nodeTopic(node, 'events'),
  };
}

/** A subscription filter matching `channel` for every node. */
export function allNodesFilter(channel: TopicChannel): string {
  return `${TOPIC_ROOT}/+/${channel}`;
}

/** The node and channel of a protocol topic, or undefined for any other topic. */
export function parseNodeTopic(topic: string): { node: string; channel: TopicChannel } | undefined {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return undefined;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const node = rest.slice(0, slash);
  const channel = rest.slice(slash + 1) as TopicChannel;
  if (!isNodeName(node) || !TOPIC_CHANNELS.includes(channel)) return undefined;
  return { node, channel };
}
