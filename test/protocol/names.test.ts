import { describe, expect, it } from 'vitest';
import {
  allNodesFilter,
  dns1123LabelError,
  dns1123SubdomainError,
  formatKey,
  isKey,
  nodeTopics,
  parseKey,
  parseNodeTopic,
} from '../../protocol/index.js';

describe('node names (DNS-1123 subdomain)', () => {
  it.each(['edge-1', 'a', 'edge.site-3.example', '0abc', 'a'.repeat(253)])('accepts %s', (name) => {
    expect(dns1123SubdomainError(name)).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['Edge-1', 'lower case'],
    ['edge_1', 'lower case'],
    ['-edge', 'start and end'],
    ['edge-', 'start and end'],
    ['edge..1', 'lower case'],
    ['edge/1', 'lower case'],
    ['edge+', 'lower case'],
    ['a'.repeat(254), '253'],
  ])('rejects %j, saying why (%s)', (name, why) => {
    expect(dns1123SubdomainError(name)).toContain(why);
  });

  it('namespaces are DNS-1123 labels: no dots, at most 63', () => {
    expect(dns1123LabelError('kube-system')).toBeUndefined();
    expect(dns1123LabelError('a.b')).toBeDefined();
    expect(dns1123LabelError('a'.repeat(64))).toContain('63');
  });
});

describe('object keys', () => {
  it('format and parse namespaced and cluster-scoped keys', () => {
    expect(formatKey('Pod', 'default', 'web-0')).toBe('Pod/default/web-0');
    expect(parseKey('Pod/default/web-0')).toEqual({ kind: 'Pod', namespace: 'default', name: 'web-0' });
    expect(parseKey('Node//edge-7')).toEqual({ kind: 'Node', namespace: '', name: 'edge-7' });
  });

  it.each(['Pod', 'Pod/default', 'pod/default/x', 'Pod/default/', 'Pod/a/b/c', '/a/b'])('rejects %j', (key) => {
    expect(isKey(key)).toBe(false);
    expect(() => parseKey(key)).toThrow(/invalid object key/);
  });
});

describe('MQTT topics', () => {
  it('names every channel under the node', () => {
    expect(nodeTopics('edge-7')).toEqual({
      down: 'edge/v1/edge-7/down',
      up: 'edge/v1/edge-7/up',
      presence: 'edge/v1/edge-7/presence',
      events: 'edge/v1/edge-7/events',
    });
    expect(allNodesFilter('up')).toBe('edge/v1/+/up');
  });

  it('refuses node names that could escape the subtree', () => {
    expect(() => nodeTopics('a/b')).toThrow(/invalid node name/);
    expect(() => nodeTopics('+')).toThrow(/invalid node name/);
    expect(() => nodeTopics('#')).toThrow(/invalid node name/);
  });

  it('parses protocol topics and ignores others', () => {
    expect(parseNodeTopic('edge/v1/edge-7/up')).toEqual({ node: 'edge-7', channel: 'up' });
    expect(parseNodeTopic('edge/v1/edge-7/other')).toBeUndefined();
    expect(parseNodeTopic('edge/v2/edge-7/up')).toBeUndefined();
    expect(parseNodeTopic('edge/v1/Bad/up')).toBeUndefined();
  });
});
