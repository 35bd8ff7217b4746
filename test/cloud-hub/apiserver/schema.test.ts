/**
 * Writes are decoded against the served kinds' schemas and validated by kube's rules, with
 * kube's codes and messages: typed values (400), unknown fields per `fieldValidation`
 * (Strict 400, Warn a Warning header, Ignore silent; dropped in every case), kind rules (422),
 * and the OpenAPI documents (/openapi/v2, /openapi/v3) built from the same schemas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSchemas } from '../../../cloud-hub/apiserver/schema/schema-store.js';
import { configMap, pod, startInProcess, type Json, type KubeHttp } from './kube-http.js';

let api: Awaited<ReturnType<typeof startInProcess>>;
let http: KubeHttp;
const PODS = '/api/v1/namespaces/default/pods';

beforeAll(async () => {
  api = await startInProcess();
  http = api.http;
});

afterAll(async () => {
  await api?.stop();
});

function withSpec(name: string, spec: Json): Json {
  const body = pod(name);
  Object.assign(body.spec, spec);
  return body;
}

describe('typed decoding', () => {
  it('a value of the wrong type is a 400 with the decoder message kube sends', async () => {
    const body = pod('typed-port');
    body.spec.containers[0].ports = [{ containerPort: 'eighty' }];
    const res = await http.post(PODS, body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    expect(res.json.message).toBe('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32');
    expect((await http.get(`${PODS}/typed-port`)).status).toBe(404);
  });

  it('an unparseable time is refused (renewTime: "yesterday")', async () => {
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l1' }, spec: { holderIdentity: 'a', renewTime: 'yesterday' } };
    const res = await http.post('/apis/coordination.k8s.io/v1/namespaces/default/leases', lease);
    expect(res.status).toBe(400);
    expect(res.json.message).toBe('Lease in version "v1" cannot be handled as a Lease: parsing time "yesterday" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "yesterday" as "2006"');
    const good = await http.post('/apis/coordination.k8s.io/v1/namespaces/default/leases', { ...lease, spec: { holderIdentity: 'a', renewTime: '2026-01-01T00:00:00.000000Z' } });
    expect(good.status).toBe(201);
  });

  it('a bad quantity is refused', async () => {
    const body = pod('typed-quantity');
    body.spec.containers[0].resources = { limits: { cpu: 'lots' } };
    const res = await http.post(PODS, body);
    expect(res.status).toBe(400);
    expect(res.json.message).toContain("quantities must match the regular expression");
  });
});

describe('fieldValidation', () => {
  const withUnknown = (name: string): Json => {
    const body = withSpec(name, { foo: 1 });
    body.spec.containers[0].bar = 'x';
    return body;
  };

  it('Strict refuses unknown fields with strict decoding error, naming each', async () => {
    const res = await http.post(`${PODS}?fieldValidation=Strict`, withUnknown('strict'));
    expect(res.status).toBe(400);
    expect(res.json.message).toBe('Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].bar", unknown field "spec.foo"');
  });

  it('Warn stores the object without them and sends a Warning header per field; it is the default', async () => {
    for (const [name, query] of [
      ['warn', '?fieldValidation=Warn'],
      ['warn-default', ''],
    ] as const) {
      const res = await http.post(`${PODS}${query}`, withUnknown(name));
      expect(res.status).toBe(201);
      // One Warning header per field (Node's client joins repeated ones with ", ").
      const warning = String(res.headers.warning).split(/, (?=299 )/);
      expect(warning).toEqual(['299 - "unknown field \\"spec.containers[0].bar\\""', '299 - "unknown field \\"spec.foo\\""']);
      const stored = (await http.get(`${PODS}/${name}`)).json;
      expect(stored.spec.foo).toBeUndefined();
      expect(stored.spec.containers[0].bar).toBeUndefined();
    }
  });

  it('Ignore drops them silently; an unknown fieldValidation is a 400', async () => {
    const res = await http.post(`${PODS}?fieldValidation=Ignore`, withUnknown('ignore'));
    expect(res.status).toBe(201);
    expect(res.headers.warning).toBeUndefined();
    expect(res.json.spec.foo).toBeUndefined();
    const bad = await http.post(`${PODS}?fieldValidation=Loose`, withUnknown('loose'));
    expect(bad.status).toBe(400);
  });

  it('patches are checked too: an unknown field from a merge patch under Strict is a 400', async () => {
    await http.post('/api/v1/namespaces/default/configmaps', configMap('patched'));
    const res = await http.request('PATCH', '/api/v1/namespaces/default/configmaps/patched?fieldValidation=Strict', { body: { datta: { a: 'b' } }, contentType: 'application/merge-patch+json' });
    expect(res.status).toBe(400);
    expect(res.json.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "datta"');
  });
});

describe('kind rules (422 Invalid)', () => {
  async function invalid(path: string, body: Json): Promise<{ message: string; causes: Json[] }> {
    const res = await http.post(path, body);
    expect(res.status).toBe(422);
    expect(res.json.reason).toBe('Invalid');
    return { message: res.json.message, causes: res.json.details.causes };
  }

  it('enumerated pod fields and port ranges', async () => {
    const body = withSpec('enum', { restartPolicy: 'Sometimes' });
    body.spec.containers[0].ports = [{ containerPort: 70000 }];
    const { message, causes } = await invalid(PODS, body);
    expect(message).toContain('spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"');
    expect(message).toContain('spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive');
    expect(causes).toContainEqual({ reason: 'FieldValueNotSupported', field: 'spec.restartPolicy', message: 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"' });
  });

  it('volume names are DNS labels, paths may not contain ..', async () => {
    const body = withSpec('volumes', { volumes: [{ name: 'Bad_Name', emptyDir: {} }, { name: 'cfg', configMap: { name: 'x', items: [{ key: 'k', path: '../escape' }] } }] });
    body.spec.containers[0].volumeMounts = [{ name: 'cfg', mountPath: '/cfg', subPath: 'a/../../b' }];
    const { message } = await invalid(PODS, body);
    expect(message).toContain('spec.volumes[0].name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of');
    expect(message).toContain(`spec.volumes[1].configMap.items[0].path: Invalid value: "../escape": must not contain '..'`);
    expect(message).toContain(`spec.containers[0].volumeMounts[0].subPath: Invalid value: "a/../../b": must not contain '..'`);
  });

  it('a ConfigMap over 1 MiB is refused; one just under is stored', async () => {
    const big = await invalid('/api/v1/namespaces/default/configmaps', configMap('big', { a: 'x'.repeat(1_100_000) }));
    expect(big.message).toBe('ConfigMap "big" is invalid: []: Too long: may not be more than 1048576 bytes');
    const fits = await http.post('/api/v1/namespaces/default/configmaps', configMap('fits', { a: 'x'.repeat(1_000_000) }));
    expect(fits.status).toBe(201);
  });

  it('a kubernetes.io/tls Secret needs tls.crt and tls.key', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from('cert').toString('base64') } };
    const { message } = await invalid('/api/v1/namespaces/default/secrets', secret);
    expect(message).toBe('Secret "tls" is invalid: data[tls.key]: Required value');
  });

  it('a Lease with a negative duration, an Event without involvedObject', async () => {
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'neg' }, spec: { leaseDurationSeconds: -5 } };
    expect((await invalid('/apis/coordination.k8s.io/v1/namespaces/default/leases', lease)).message).toBe('Lease.coordination.k8s.io "neg" is invalid: spec.leaseDurationSeconds: Invalid value: -5: must be greater than 0');
    const event = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'ev' }, reason: 'Test', message: 'm' };
    expect((await invalid('/api/v1/namespaces/default/events', event)).message).toBe('Event "ev" is invalid: involvedObject: Required value');
  });
});

describe('OpenAPI', () => {
  it('/openapi/v2 is Swagger JSON with the kinds’ definitions; protobuf only is 406', async () => {
    const res = await http.get('/openapi/v2', { accept: 'application/json' });
    expect(res.status).toBe(200);
    expect(res.json.swagger).toBe('2.0');
    const podDef = res.json.definitions['io.k8s.api.core.v1.Pod'];
    expect(podDef['x-kubernetes-group-version-kind']).toEqual([{ group: '', kind: 'Pod', version: 'v1' }]);
    const containers = res.json.definitions['io.k8s.api.core.v1.PodSpec'].properties.containers;
    expect(containers).toMatchObject({ type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], 'x-kubernetes-patch-merge-key': 'name' });
    const protobuf = await http.get('/openapi/v2', { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
    expect(protobuf.status).toBe(406);
  });

  it('/openapi/v3 lists each group version; each document has its kinds’ schemas', async () => {
    const index = (await http.get('/openapi/v3')).json;
    expect(Object.keys(index.paths).sort()).toEqual(['api/v1', 'apis/coordination.k8s.io/v1']);
    const core = await http.get(index.paths['api/v1'].serverRelativeURL);
    expect(core.status).toBe(200);
    const schemas = core.json.components.schemas;
    expect(schemas['io.k8s.api.core.v1.ConfigMap'].properties.data.type).toBe('object');
    expect(schemas['io.k8s.api.core.v1.Pod'].properties.spec).toEqual({ $ref: '#/components/schemas/io.k8s.api.core.v1.PodSpec' });
    // A $ref with a description beside it is written as allOf, as kube writes v3.
    expect(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.creationTimestamp).toMatchObject({ allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time' }] });
    const leases = (await http.get('/openapi/v3/apis/coordination.k8s.io/v1')).json;
    expect(Object.keys(leases.components.schemas)).toContain('io.k8s.api.coordination.v1.Lease');
    expect(Object.keys(leases.components.schemas)).not.toContain('io.k8s.api.core.v1.Pod');
  });

  it('the definitions are read only when first needed', () => {
    const schemas = new KubeSchemas();
    expect(schemas.loaded).toBe(false);
    expect(schemas.definitionName({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' })).toBe('io.k8s.api.coordination.v1.Lease');
    expect(schemas.loaded).toBe(true);
    expect(schemas.source).toContain('@kubernetes/client-node');
  });
});

describe('server-side apply over HTTP', () => {
  const apply = (path: string, body: Json, query: string): ReturnType<KubeHttp['request']> =>
    http.request('PATCH', `${path}?${query}`, { body: JSON.stringify(body), contentType: 'application/apply-patch+yaml' });

  it('creates (201), needs a fieldManager, and applies /status as its own subresource entry', async () => {
    const noManager = await apply(`${PODS}/ssa`, pod('ssa'), '');
    expect(noManager.status).toBe(400);
    const created = await apply(`${PODS}/ssa`, pod('ssa'), 'fieldManager=ctl');
    expect(created.status).toBe(201);
    const status = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ssa' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    const res = await apply(`${PODS}/ssa/status`, status, 'fieldManager=agent');
    expect(res.status).toBe(200);
    expect(res.json.status.conditions).toEqual([{ type: 'Ready', status: 'True' }]);
    expect(res.json.spec.containers[0].image).toBe('registry.example/app:1.0');
    const entries = res.json.metadata.managedFields as Json[];
    expect(entries.map((entry) => [entry.manager, entry.operation, entry.subresource])).toEqual([
      ['ctl', 'Apply', undefined],
      ['agent', 'Apply', 'status'],
    ]);
    expect(entries[1]!.fieldsV1).toEqual({ 'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:status': {}, 'f:type': {} } } } });
  });

  it('a client cannot write managedFields; dryRun applies nothing', async () => {
    const body = configMap('owned');
    body.metadata.managedFields = [{ manager: 'forged', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }];
    const created = await http.post('/api/v1/namespaces/default/configmaps?fieldManager=real', body);
    expect(created.json.metadata.managedFields.map((entry: Json) => entry.manager)).toEqual(['real']);
    // The Update entry of "real" is another owner than an Apply by "real", as in kube.
    const conflict = await apply('/api/v1/namespaces/default/configmaps/owned', configMap('owned', { key: 'other' }), 'fieldManager=real&dryRun=All');
    expect(conflict.status).toBe(409);
    expect(conflict.json.message).toMatch(/^Apply failed with 1 conflict: conflict with "real" using v1 at .*: \.data\.key$/);
    const dry = await apply('/api/v1/namespaces/default/configmaps/owned', configMap('owned', { key: 'other' }), 'fieldManager=real&dryRun=All&force=true');
    expect(dry.status).toBe(200);
    expect(dry.json.data).toEqual({ key: 'other' });
    expect((await http.get('/api/v1/namespaces/default/configmaps/owned')).json.data).toEqual({ key: 'value' });
  });
});
