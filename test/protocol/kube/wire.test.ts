/**
 * protocol/kube/: the Kubernetes wire pieces the hub's API server and the agent's local API
 * share (their behaviour over HTTP is tested in test/cloud-hub/apiserver/ and
 * test/edge-agent/local-api/). Tables and label selectors are tested there too.
 */
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../protocol/index.js';
import {
  ApiError,
  apiGroup,
  apiResourceList,
  contentTypeOf,
  failureStatus,
  kubeMicroTime,
  kubeTime,
  KUBE_FIELD_LABELS,
  negotiateRepresentation,
  ObjectFilter,
  parseFieldSelector,
  queryFlag,
  SelectorError,
  statusErrors,
  successStatus,
} from '../../../protocol/kube/index.js';

describe('boolean query parameters', () => {
  const flag = (query: string, name = 'watch'): boolean | undefined => queryFlag(new URLSearchParams(query), name);

  it('read as kube-apiserver converts them: only "0" and "false" (any case) are false, and an empty value is true', () => {
    expect(flag('')).toBeUndefined();
    for (const value of ['0', 'false', 'FALSE', 'False']) expect(flag(`watch=${value}`), value).toBe(false);
    for (const value of ['', '1', 'true', 'True', 'yes', 'no', 'f', 'n']) expect(flag(`watch=${value}`), value).toBe(true);
    expect(flag('watch')).toBe(true);
    expect(flag('watch=0', 'allowWatchBookmarks')).toBeUndefined();
  });
});

describe('timestamps', () => {
  it('kubeTime is RFC 3339 to the whole second, from a Date or from milliseconds', () => {
    const at = Date.parse('2026-03-04T05:06:07.890Z');
    expect(kubeTime(at)).toBe('2026-03-04T05:06:07Z');
    expect(kubeTime(new Date(at))).toBe('2026-03-04T05:06:07Z');
    expect(kubeTime(0)).toBe('1970-01-01T00:00:00Z');
  });

  it('kubeMicroTime has six fractional digits', () => {
    expect(kubeMicroTime(Date.parse('2026-03-04T05:06:07.890Z'))).toBe('2026-03-04T05:06:07.890000Z');
  });
});

describe('Status objects', () => {
  it('are written in kube-apiserver\'s field order, details before code', () => {
    const status = statusErrors.notFound({ group: 'coordination.k8s.io', resource: 'leases' }, 'edge-1').toStatus();
    expect(JSON.stringify(status)).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io \\"edge-1\\" not found","reason":"NotFound",' +
        '"details":{"name":"edge-1","group":"coordination.k8s.io","kind":"leases"},"code":404}',
    );
  });

  it('leave details out when there are none, and carry causes when there are', () => {
    expect(failureStatus(405, 'MethodNotAllowed', 'no')).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'no', reason: 'MethodNotAllowed', code: 405 });
    const invalid = statusErrors.invalid({ group: '', kind: 'Pod' }, 'p', [{ field: 'metadata.name', type: 'Invalid value', value: 'P', detail: 'must be lower case' }]);
    expect(invalid).toBeInstanceOf(ApiError);
    expect(invalid.code).toBe(422);
    expect(invalid.toStatus()).toMatchObject({
      message: 'Pod "p" is invalid: metadata.name: Invalid value: "P": must be lower case',
      details: { name: 'p', kind: 'Pod', causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: "P": must be lower case', field: 'metadata.name' }] },
    });
    expect(successStatus({ group: '', resource: 'configmaps' }, 'c', 'u-1')).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'c', kind: 'configmaps', uid: 'u-1' } });
  });
});

describe('field selectors', () => {
  const pod: JsonObject = { metadata: { name: 'web-0', namespace: 'default' }, spec: { nodeName: 'edge-1' }, status: { phase: 'Running' } };

  it('accept the fields their configuration gives a kind: kube-apiserver\'s by default, fewer when a server serves fewer', () => {
    expect(parseFieldSelector('status.phase=Running', 'Pod').matches(pod)).toBe(true);
    const fewer = { Pod: ['spec.nodeName'] };
    expect(parseFieldSelector('spec.nodeName=edge-1', 'Pod', fewer).matches(pod)).toBe(true);
    expect(() => parseFieldSelector('status.phase=Running', 'Pod', fewer)).toThrow(new SelectorError('field label not supported: status.phase'));
    expect(KUBE_FIELD_LABELS.Pod).toContain('status.phase');
  });

  it('read fields as kube\'s field sets hold them: absent booleans are "false", an Event\'s source is its component', () => {
    expect(parseFieldSelector('spec.unschedulable=false', 'Node').matches({ metadata: { name: 'n' }, spec: {} })).toBe(true);
    expect(parseFieldSelector('spec.unschedulable=true', 'Node').matches({ metadata: { name: 'n' }, spec: { unschedulable: true } })).toBe(true);
    expect(parseFieldSelector('source=kubelet', 'Event').matches({ metadata: { name: 'e' }, source: { component: 'kubelet' } })).toBe(true);
  });

  it('skip empty terms and refuse a term without an operator, as kube does', () => {
    expect(parseFieldSelector('metadata.name=web-0,', 'Pod').requirements).toEqual([{ field: 'metadata.name', equal: true, value: 'web-0' }]);
    expect(() => parseFieldSelector('metadata.name', 'Pod')).toThrow(/^invalid selector: 'metadata.name'; can't understand 'metadata.name'/);
  });
});

describe('object filters', () => {
  const labelled = (name: string, labels: Record<string, string>): JsonObject => ({ metadata: { name, namespace: 'apps', labels } });

  it('combine namespace, labels and fields; a name alone can rule an object out', () => {
    const filter = ObjectFilter.parse('ConfigMap', 'apps', 'tier=web', 'metadata.name!=skip');
    expect(filter.selectsOnNamespaceOnly).toBe(false);
    expect(filter.matches(labelled('a', { tier: 'web' }), 'apps')).toBe(true);
    expect(filter.matches(labelled('a', { tier: 'db' }), 'apps')).toBe(false);
    expect(filter.matches(labelled('a', { tier: 'web' }), 'other')).toBe(false);
    expect(filter.matchesName('apps', 'skip')).toBe(false);
    expect(filter.matchesName('apps', 'a')).toBe(true);
    expect(ObjectFilter.named('apps', 'a').matches(labelled('b', {}), 'apps')).toBe(false);
    expect(ObjectFilter.parse('ConfigMap', undefined, null, null).selectsOnNamespaceOnly).toBe(true);
  });
});

describe('discovery documents', () => {
  it('leave out empty shortNames and categories, and prefer a group\'s first version', () => {
    expect(apiResourceList('v1', [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get'], shortNames: ['po'], categories: [] }])).toEqual({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'v1',
      resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get'], shortNames: ['po'] }],
    });
    expect(apiGroup('coordination.k8s.io', ['v1'])).toMatchObject({ preferredVersion: { groupVersion: 'coordination.k8s.io/v1', version: 'v1' } });
  });
});

describe('representations', () => {
  it('follow Accept in order: Tables, metadata, or the objects; 406 when nothing served is acceptable', () => {
    expect(negotiateRepresentation('application/json;as=Table;v=v1;g=meta.k8s.io,application/json', null)).toEqual({ as: 'table', apiVersion: 'meta.k8s.io/v1', includeObject: 'Metadata' });
    expect(negotiateRepresentation('application/json;as=PartialObjectMetadataList;v=v1beta1;g=meta.k8s.io', null)).toEqual({ as: 'metadata', apiVersion: 'meta.k8s.io/v1beta1' });
    expect(negotiateRepresentation('application/vnd.kubernetes.protobuf, */*', null)).toEqual({ as: 'object' });
    expect(() => negotiateRepresentation('application/vnd.kubernetes.protobuf', null)).toThrow(expect.objectContaining({ code: 406 }) as ApiError);
    expect(() => negotiateRepresentation('application/json;as=Table;v=v1;g=meta.k8s.io', 'All')).toThrow(expect.objectContaining({ code: 400 }) as ApiError);
    expect(contentTypeOf({ as: 'metadata', apiVersion: 'meta.k8s.io/v1' }, true)).toBe('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1');
  });
});
