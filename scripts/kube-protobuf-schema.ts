/**
 * Generates cloud-hub/apiserver/protobuf-schema.ts: the field numbers and types of the
 * Kubernetes protobuf messages the embedded API reads, taken from the gzipped
 * FileDescriptorProtos that every kubectl binary carries (k8s.io/api's generated.pb.go
 * registers them). No Kubernetes source is needed and the numbers are exactly kubectl's.
 *
 *   npx tsc -p tsconfig.build.json
 *   node dist/scripts/kube-protobuf-schema.js $(command -v kubectl) > cloud-hub/apiserver/protobuf-schema.ts
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { bytesOf, fieldsOf, integerOf, textOf } from '../cloud-hub/apiserver/protobuf-wire.js';

/** Proto packages and the apiVersion-like prefix their messages get in the schema. */
const PACKAGES: Record<string, string> = {
  'k8s.io.api.core.v1': 'v1',
  'k8s.io.api.coordination.v1': 'coordination.k8s.io/v1',
  'k8s.io.api.policy.v1': 'policy/v1',
  'k8s.io.api.authorization.v1': 'authorization.k8s.io/v1',
  'k8s.io.api.authentication.v1': 'authentication.k8s.io/v1',
  'k8s.io.apimachinery.pkg.apis.meta.v1': 'meta/v1',
  'k8s.io.apimachinery.pkg.api.resource': 'resource',
  'k8s.io.apimachinery.pkg.runtime': 'runtime',
  'k8s.io.apimachinery.pkg.runtime.schema': 'schema',
  'k8s.io.apimachinery.pkg.util.intstr': 'intstr',
};

/** The bodies the embedded API reads; the schema holds them and every message they use. */
const ROOTS = [
  'v1.Pod',
  'v1.Node',
  'v1.Namespace',
  'v1.ConfigMap',
  'v1.Secret',
  'v1.Event',
  'v1.Binding',
  'coordination.k8s.io/v1.Lease',
  'policy/v1.Eviction',
  'meta/v1.DeleteOptions',
  'authorization.k8s.io/v1.SelfSubjectAccessReview',
  'authentication.k8s.io/v1.SelfSubjectReview',
];

/**
 * Go structs embedded with `json:",inline"`: protobuf nests them in a field, JSON puts their
 * fields in the parent. Marked `^` in the schema.
 */
const INLINE: Record<string, string> = {
  volumeSource: 'v1.VolumeSource',
  persistentVolumeSource: 'v1.PersistentVolumeSource',
  handler: 'v1.ProbeHandler',
  ephemeralContainerCommon: 'v1.EphemeralContainerCommon',
  localObjectReference: 'v1.LocalObjectReference',
};

/** Protobuf scalar types by FieldDescriptorProto.Type, as schema letters. */
const SCALAR_TYPES: Record<number, string> = { 1: 'd', 2: 'f', 3: 'i', 4: 'u', 5: 'i', 6: 'u', 7: 'u', 8: 'b', 9: 's', 12: 'y', 13: 'u', 15: 'i', 16: 'i' };

interface FieldDescriptor {
  name: string;
  number: number;
  repeated: boolean;
  type: number;
  typeName: string;
}

interface MessageDescriptor {
  fields: FieldDescriptor[];
  mapEntry: boolean;
}

const messages = new Map<string, MessageDescriptor>();

function shortName(fullName: string): string {
  const name = fullName.replace(/^\./, '');
  const dot = name.lastIndexOf('.', name.length);
  for (let at = dot; at > 0; at = name.lastIndexOf('.', at - 1)) {
    const pkg = PACKAGES[name.slice(0, at)];
    if (pkg) return `${pkg}.${name.slice(at + 1)}`;
  }
  throw new Error(`message ${fullName} is in no known package`);
}

function readMessage(prefix: string, buf: Buffer): void {
  let name = '';
  const fields: FieldDescriptor[] = [];
  const nested: Buffer[] = [];
  let mapEntry = false;
  for (const field of fieldsOf(buf)) {
    if (field.number === 1) name = textOf(field);
    else if (field.number === 2) {
      const f: FieldDescriptor = { name: '', number: 0, repeated: false, type: 0, typeName: '' };
      for (const inner of fieldsOf(bytesOf(field))) {
        if (inner.number === 1) f.name = textOf(inner);
        else if (inner.number === 3) f.number = integerOf(inner);
        else if (inner.number === 4) f.repeated = integerOf(inner) === 3;
        else if (inner.number === 5) f.type = integerOf(inner);
        else if (inner.number === 6) f.typeName = textOf(inner);
      }
      fields.push(f);
    } else if (field.number === 3) nested.push(bytesOf(field));
    else if (field.number === 7) {
      for (const option of fieldsOf(bytesOf(field))) if (option.number === 7) mapEntry = integerOf(option) !== 0;
    }
  }
  const full = `${prefix}.${name}`;
  messages.set(full, { fields, mapEntry });
  for (const inner of nested) readMessage(full, inner);
}

function readFile(descriptor: Buffer): void {
  let pkg = '';
  const bodies: Buffer[] = [];
  for (const field of fieldsOf(descriptor)) {
    if (field.number === 2) pkg = textOf(field);
    else if (field.number === 4) bodies.push(bytesOf(field));
  }
  if (!PACKAGES[pkg]) return;
  for (const body of bodies) readMessage(pkg, body);
}

function typeCode(field: FieldDescriptor): string {
  if (field.type === 11) return `@${shortName(field.typeName)}`;
  const code = SCALAR_TYPES[field.type];
  if (!code) throw new Error(`field ${field.name}: unsupported type ${field.type}`);
  return code;
}

function fieldCode(field: FieldDescriptor, wanted: string[]): string {
  const entry = field.type === 11 ? messages.get(field.typeName.replace(/^\./, '')) : undefined;
  if (entry?.mapEntry) {
    const key = entry.fields.find((f) => f.number === 1);
    const value = entry.fields.find((f) => f.number === 2);
    if (!key || key.type !== 9 || !value) throw new Error(`map ${field.name}: only string keys are supported`);
    if (value.type === 11) wanted.push(value.typeName);
    return `${field.name}=${field.number}%${typeCode(value)}`;
  }
  if (field.type === 11) wanted.push(field.typeName);
  const inline = field.type === 11 && !field.repeated && INLINE[field.name] === shortName(field.typeName);
  return `${field.name}=${field.number}${field.repeated ? '*' : inline ? '^' : ''}${typeCode(field)}`;
}

function main(): void {
  const binary = process.argv[2];
  if (!binary) throw new Error('usage: kube-protobuf-schema KUBECTL_BINARY');
  const data = readFileSync(binary);
  const gzip = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]);
  for (let at = data.indexOf(gzip); at >= 0; at = data.indexOf(gzip, at + 1)) {
    let descriptor: Buffer;
    try {
      descriptor = gunzipSync(data.subarray(at, at + 4 * 1024 * 1024), { finishFlush: 2 });
    } catch {
      continue;
    }
    if (descriptor[0] === 0x0a && descriptor.subarray(2, 2 + (descriptor[1] as number)).toString().endsWith('generated.proto')) readFile(descriptor);
  }
  const fullNames = new Map<string, string>();
  for (const full of messages.keys()) if (!messages.get(full)?.mapEntry) fullNames.set(shortName(full), full);
  const wanted = ROOTS.map((root) => {
    const full = fullNames.get(root);
    if (!full) throw new Error(`${root} is not in ${binary}`);
    return full;
  });
  const lines = new Map<string, string>();
  while (wanted.length > 0) {
    const full = (wanted.pop() as string).replace(/^\./, '');
    const short = shortName(full);
    if (lines.has(short)) continue;
    const message = messages.get(full);
    if (!message) throw new Error(`${full} is not in ${binary}`);
    lines.set(short, message.fields.map((field) => fieldCode(field, wanted)).join(' '));
  }
  const version = (JSON.parse(execFileSync(binary, ['version', '--client', '-o', 'json'], { encoding: 'utf8' })) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion;
  const out: string[] = [
    '/**',
    ' * GENERATED by scripts/kube-protobuf-schema.ts from the protobuf descriptors in kubectl; do not edit.',
    ' * Each message: space-separated `name=NUMBER[*]TYPE`, `*` for repeated, `%TYPE` for a map with',
    ' * string keys, `^` for a struct Go inlines into its parent in JSON; TYPE is s string, i signed varint, u unsigned varint, b bool, y bytes, d double,',
    ' * f float, or @message.',
    ' */',
    `// Source: kubectl ${version ?? '(unknown version)'}; roots: ${ROOTS.join(', ')}.`,
    'export const KUBE_PROTOBUF_SCHEMA: Readonly<Record<string, string>> = {',
  ];
  for (const name of [...lines.keys()].sort()) out.push(`  '${name}': '${lines.get(name) ?? ''}',`);
  out.push('};', '');
  process.stdout.write(out.join('\n'));
}

main();
