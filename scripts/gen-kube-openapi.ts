/**
 * Regenerates cloud-hub/apiserver/schema/kube-openapi.json: the OpenAPI v2 definitions of the
 * kinds the embedded API serves, and of every type they reach, named as upstream
 * (`io.k8s.api.core.v1.Pod`, ...).
 *
 * Source: @kubernetes/client-node's generated models (package.json pins the version; they are
 * generated from Kubernetes' own api/openapi-spec/swagger.json): each model's attribute map
 * gives the field names, types and formats, its .d.ts gives the descriptions and which fields
 * are required. What the client's generator drops is added from the table below, from the
 * upstream spec: list types and keys (`x-kubernetes-list-type`, `-list-map-keys`, patch merge
 * keys) and the Quantity fields. Run from the repository root after a build:
 * `node dist/scripts/gen-kube-openapi.js`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

type Schema = Record<string, unknown>;
const require = createRequire(import.meta.url);
const clientDir = path.dirname(require.resolve('@kubernetes/client-node/package.json'));
const modelsDir = path.join(clientDir, 'dist', 'gen', 'models');
const clientVersion = (JSON.parse(readFileSync(path.join(clientDir, 'package.json'), 'utf8')) as { version: string }).version;

const ROOTS: [string, string, string, string][] = [
  ['V1Pod', '', 'v1', 'Pod'],
  ['V1ConfigMap', '', 'v1', 'ConfigMap'],
  ['V1Secret', '', 'v1', 'Secret'],
  ['V1Node', '', 'v1', 'Node'],
  ['CoreV1Event', '', 'v1', 'Event'],
  ['V1Namespace', '', 'v1', 'Namespace'],
  ['V1Lease', 'coordination.k8s.io', 'v1', 'Lease'],
];

const META = new Set(['ObjectMeta', 'ManagedFieldsEntry', 'OwnerReference', 'ListMeta', 'LabelSelector', 'LabelSelectorRequirement', 'Status', 'StatusDetails', 'StatusCause', 'DeleteOptions', 'Preconditions']);
const COORDINATION = new Set(['Lease', 'LeaseSpec']);

/** Lists and fields whose upstream extensions the client models do not carry: `Type.field`. */
const LIST_MAP = (keys: string[], mergeKey = keys[0]): Schema => ({
  'x-kubernetes-list-map-keys': keys,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-patch-merge-key': mergeKey,
  'x-kubernetes-patch-strategy': 'merge',
});
const SET = { 'x-kubernetes-list-type': 'set' };
const SET_MERGE = { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' };
const EXTENSIONS: Record<string, Schema> = {
  'PodSpec.containers': LIST_MAP(['name']),
  'PodSpec.initContainers': LIST_MAP(['name']),
  'PodSpec.ephemeralContainers': LIST_MAP(['name']),
  'PodSpec.volumes': { ...LIST_MAP(['name']), 'x-kubernetes-patch-strategy': 'merge,retainKeys' },
  'PodSpec.imagePullSecrets': LIST_MAP(['name']),
  'PodSpec.hostAliases': LIST_MAP(['ip']),
  'PodSpec.tolerations': { 'x-kubernetes-list-type': 'atomic' },
  'PodSpec.schedulingGates': LIST_MAP(['name']),
  'PodSpec.resourceClaims': { ...LIST_MAP(['name']), 'x-kubernetes-patch-strategy': 'merge,retainKeys' },
  'Container.ports': LIST_MAP(['containerPort', 'protocol'], 'containerPort'),
  'Container.env': LIST_MAP(['name']),
  'Container.volumeMounts': LIST_MAP(['mountPath']),
  'Container.volumeDevices': LIST_MAP(['devicePath']),
  'Container.resizePolicy': { 'x-kubernetes-list-type': 'atomic' },
  'EphemeralContainer.ports': LIST_MAP(['containerPort', 'protocol'], 'containerPort'),
  'EphemeralContainer.env': LIST_MAP(['name']),
  'EphemeralContainer.volumeMounts': LIST_MAP(['mountPath']),
  'EphemeralContainer.volumeDevices': LIST_MAP(['devicePath']),
  'PodStatus.conditions': LIST_MAP(['type']),
  'PodStatus.podIPs': LIST_MAP(['ip']),
  'PodStatus.hostIPs': LIST_MAP(['ip']),
  'NodeSpec.podCIDRs': SET_MERGE,
  'NodeSpec.taints': { 'x-kubernetes-list-type': 'atomic' },
  'NodeStatus.conditions': LIST_MAP(['type']),
  'NodeStatus.addresses': LIST_MAP(['type']),
  'NamespaceStatus.conditions': LIST_MAP(['type']),
  'ObjectMeta.finalizers': SET_MERGE,
  'ObjectMeta.ownerReferences': LIST_MAP(['uid']),
  'ObjectMeta.managedFields': { 'x-kubernetes-list-type': 'atomic' },
};
const QUANTITY_MAPS = new Set(['ResourceRequirements.limits', 'ResourceRequirements.requests', 'PodSpec.overhead', 'NodeStatus.capacity', 'NodeStatus.allocatable', 'ContainerStatus.allocatedResources']);
const QUANTITY_FIELDS = new Set(['EmptyDirVolumeSource.sizeLimit']);
void SET;

function upstreamName(cls: string): string {
  const bare = cls.replace(/^(CoreV1|V1)/, '');
  if (META.has(bare)) return `io.k8s.apimachinery.pkg.apis.meta.v1.${bare}`;
  if (COORDINATION.has(bare)) return `io.k8s.api.coordination.v1.${bare}`;
  return `io.k8s.api.core.v1.${bare}`;
}

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}

const definitions: Record<string, Schema> = {};
const queue: string[] = [];

function docs(cls: string): { description: string; fields: Map<string, { description: string; required: boolean }> } {
  const text = readFileSync(path.join(modelsDir, `${cls}.d.ts`), 'utf8');
  const clean = (block: string): string =>
    block
      .split('\n')
      .map((line) => line.replace(/^\s*\*\s?/, ''))
      .join(' ')
      .replace(/\\'/g, "'")
      .replace(/\\"/g, '"')
      .trim();
  const classDoc = /\/\*\*\n((?:\s*\*.*\n)*?)\s*\*\/\nexport declare class/.exec(text);
  const fields = new Map<string, { description: string; required: boolean }>();
  for (const match of text.matchAll(/\/\*\*\n((?:\s*\*.*\n)*?)\s*\*\/\n\s*'([^']+)'(\?)?:/g)) {
    fields.set(match[2]!, { description: clean(match[1]!), required: match[3] !== '?' });
  }
  return { description: classDoc ? clean(classDoc[1]!) : '', fields };
}

function typeSchema(type: string, format: string, owner: string, field: string): Schema {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return { type: 'array', items: typeSchema(array[1]!, format === 'byte' ? '' : format, owner, field) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (QUANTITY_MAPS.has(`${owner}.${field}`)) return { type: 'object', additionalProperties: { $ref: '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity' } };
    return { type: 'object', additionalProperties: typeSchema(map[1]!, format, owner, field) };
  }
  if (QUANTITY_FIELDS.has(`${owner}.${field}`)) return { $ref: '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity' };
  switch (type) {
    case 'string':
      return format ? { type: 'string', format } : { type: 'string' };
    case 'number':
      return format === 'double' ? { type: 'number', format } : { type: 'integer', format: format || 'int32' };
    case 'boolean':
      return { type: 'boolean' };
    case 'Date':
      return { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time' };
    case 'V1MicroTime':
      return { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime' };
    case 'IntOrString':
      return { $ref: '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString' };
    case 'any':
      return field === 'fieldsV1' ? { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1' } : { type: 'object' };
    default:
      if (!queue.includes(type)) queue.push(type);
      return { $ref: `#/definitions/${upstreamName(type)}` };
  }
}

async function generate(cls: string): Promise<void> {
  const name = upstreamName(cls);
  if (definitions[name]) return;
  const module = (await import(pathToFileURL(path.join(modelsDir, `${cls}.js`)).href)) as Record<string, { attributeTypeMap: Attribute[] }>;
  const attributes = module[cls]!.attributeTypeMap;
  const { description, fields } = docs(cls);
  const owner = name.slice(name.lastIndexOf('.') + 1);
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const attribute of attributes) {
    const doc = fields.get(attribute.baseName);
    const schema: Schema = { ...(doc?.description ? { description: doc.description } : {}), ...typeSchema(attribute.type, attribute.format, owner, attribute.baseName) };
    Object.assign(schema, EXTENSIONS[`${owner}.${attribute.baseName}`] ?? {});
    properties[attribute.baseName] = schema;
    if (doc?.required) required.push(attribute.baseName);
  }
  definitions[name] = { ...(description ? { description } : {}), type: 'object', properties, ...(required.length ? { required } : {}) };
}

for (const [cls, group, version, kind] of ROOTS) {
  queue.push(cls);
  while (queue.length > 0) await generate(queue.shift()!);
  definitions[upstreamName(cls)]!['x-kubernetes-group-version-kind'] = [{ group, kind, version }];
}
Object.assign(definitions, {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': { description: 'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers.', type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': { description: 'MicroTime is version of Time with microsecond level precision.', type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1': { description: 'FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.\n\nEach key is either a \'.\' representing the field itself, and will always map to an empty set, or a string representing a sub-field or item. The string will follow one of these four formats: \'f:<name>\', where <name> is the name of a field in a struct, or key in a map \'v:<value>\', where <value> is the exact json formatted value of a list item \'i:<index>\', where <index> is position of a item in a list \'k:<keys>\', where <keys> is a map of  a list item\'s key fields to their unique values If a key maps to an empty Fields value, the field that key represents is part of the set.\n\nThe exact format is defined in sigs.k8s.io/structured-merge-diff', type: 'object' },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { description: 'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.', type: 'string', format: 'int-or-string' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { description: "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= <signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the \"\" case in <decimalSI>.)\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> <sign>            ::= \"+\" | \"-\" <signedNumber>    ::= <number> | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; See: http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | \"\" | k | M | G | T | P | E\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn't choose the capitalization.)\n\n<decimalExponent> ::= \"e\" <signedNumber> | \"E\" <signedNumber> ```", type: 'string' },
});

const sorted = Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b)));
// Run from the repository root.
const out = path.join(process.cwd(), 'cloud-hub', 'apiserver', 'schema', 'kube-openapi.json');
writeFileSync(out, `${JSON.stringify({ source: `@kubernetes/client-node@${clientVersion} models (generated from the Kubernetes OpenAPI spec), by scripts/gen-kube-openapi.ts`, definitions: sorted }, null, 1)}\n`);
console.log(`${Object.keys(sorted).length} definitions -> ${out}`);
