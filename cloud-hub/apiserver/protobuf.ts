/**
 * Kubernetes' protobuf request bodies. kubectl's typed clients (create namespace|configmap|secret,
 * debug, drain, auth can-i, delete through client-go) POST, PUT and DELETE with
 * `application/vnd.kubernetes.protobuf` bodies while accepting JSON answers. Such a body is the
 * magic `k8s\0`, then a runtime.Unknown {typeMeta {apiVersion, kind}, raw, contentEncoding}
 * whose raw bytes are the object.
 *
 * Every kind the server reads is decoded, through the field numbers in protobuf-schema.ts (made
 * from kubectl's own descriptors by scripts/kube-protobuf-schema.ts), into the JSON form kube
 * would produce: singular empty strings, zero integers and false booleans left out (Go's
 * omitempty; pointer fields keep theirs, see POINTER_FIELDS), inline-embedded structs
 * (a Volume's VolumeSource) merged into their parent, maps and lists as JSON,
 * Time/MicroTime as RFC 3339, Quantity as its string, IntOrString as a number or a string,
 * bytes as base64. Unknown field numbers are skipped, as protobuf readers do. Nothing here
 * encodes: answers are always JSON.
 */
import type { JsonObject, JsonValue } from '../../protocol/index.js';
import { kubeTime, statusErrors } from '../../protocol/kube/index.js';
import { KUBE_PROTOBUF_SCHEMA } from './protobuf-schema.js';
import { bytesOf, fieldsOf, MalformedProtobuf, readVarint, textOf, varintOf, type WireField } from './protobuf-wire.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
/**
 * Go pointer fields among the integers and booleans of the schema's messages: protobuf carries
 * them only when set, so a 0 or false there is a value (`gracePeriodSeconds: 0` is a forced
 * delete). Every other integer and boolean is a plain Go field, always on the wire, and its zero
 * is left out as Go's JSON omitempty would.
 */
const POINTER_FIELDS: ReadonlySet<string> = new Set([
  'gracePeriodSeconds',
  'terminationGracePeriodSeconds',
  'activeDeadlineSeconds',
  'deletionGracePeriodSeconds',
  'priority',
  'runAsUser',
  'runAsGroup',
  'fsGroup',
  'tolerationSeconds',
  'defaultMode',
  'mode',
  'leaseDurationSeconds',
  'leaseTransitions',
  'expirationSeconds',
  'optional',
  'privileged',
  'runAsNonRoot',
  'readOnlyRootFilesystem',
  'allowPrivilegeEscalation',
  'automountServiceAccountToken',
  'shareProcessNamespace',
  'enableServiceLinks',
  'setHostnameAsFQDN',
  'hostUsers',
  'hostProcess',
  'immutable',
  'orphanDependents',
  'controller',
  'blockOwnerDeletion',
  'ignoreStoreReadErrorWithClusterBreakingPotential',
  'started',
]);

/** Far deeper than any message in the schema nests; a bound on hostile input all the same. */
const MAX_DEPTH = 64;

interface FieldSpec {
  name: string;
  repeated: boolean;
  map: boolean;
  /** A Go struct embedded inline: its JSON fields go into the parent object. */
  inline: boolean;
  /** s, i, u, b, y, d, f, or a message name. */
  type: string;
}

/** Reads protobuf messages of the schema into JSON; the parsed schema is cached per message. */
class SchemaDecoder {
  private readonly parsed = new Map<string, Map<number, FieldSpec>>();

  constructor(private readonly schema: Readonly<Record<string, string>>) {}

  has(message: string): boolean {
    return this.schema[message] !== undefined;
  }

  fieldsOfMessage(message: string): Map<number, FieldSpec> {
    let specs = this.parsed.get(message);
    if (specs) return specs;
    const line = this.schema[message];
    if (line === undefined) throw new Error(`protobuf schema has no message ${message}`);
    specs = new Map();
    for (const token of line.split(' ')) {
      const match = /^([A-Za-z0-9_]+)=(\d+)([*%^]?)(@?.+)$/.exec(token);
      if (!match) throw new Error(`protobuf schema: bad field ${token} in ${message}`);
      const [, name, number, marker, type] = match as unknown as [string, string, string, string, string];
      specs.set(Number(number), { name, repeated: marker === '*', map: marker === '%', inline: marker === '^', type: type.startsWith('@') ? type.slice(1) : type });
    }
    this.parsed.set(message, specs);
    return specs;
  }

  message(message: string, buf: Buffer, depth: number): JsonValue | undefined {
    if (depth > MAX_DEPTH) throw new MalformedProtobuf('messages nested too deeply');
    const special = this.wellKnown(message, buf);
    if (special !== null) return special;
    const specs = this.fieldsOfMessage(message);
    const obj: JsonObject = {};
    for (const field of fieldsOf(buf)) {
      const spec = specs.get(field.number);
      if (!spec) continue;
      if (spec.map) {
        const [key, value] = this.mapEntry(spec, field, depth);
        const map = (obj[spec.name] ?? {}) as JsonObject;
        map[key] = value;
        obj[spec.name] = map;
      } else if (spec.repeated) {
        const list = (obj[spec.name] ?? []) as JsonValue[];
        list.push(...this.repeatedValues(spec.type, field, depth));
        obj[spec.name] = list;
      } else if (spec.inline) {
        const inner = this.value(spec.type, field, depth);
        if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) Object.assign(obj, inner);
      } else {
        const value = this.value(spec.type, field, depth);
        const zero = value === '' || ((value === 0 || value === false) && !POINTER_FIELDS.has(spec.name));
        if (value === undefined || zero) delete obj[spec.name];
        else obj[spec.name] = value;
      }
    }
    return obj;
  }

  /** Messages with their own JSON form; null for an ordinary message. */
  private wellKnown(message: string, buf: Buffer): JsonValue | undefined | null {
    switch (message) {
      case 'meta/v1.Time':
      case 'meta/v1.MicroTime': {
        const { seconds, nanos } = this.timestamp(buf);
        if (seconds === 0 && nanos === 0) return undefined;
        if (message === 'meta/v1.Time') return kubeTime(new Date(seconds * 1000));
        const micros = String(Math.floor(nanos / 1000)).padStart(6, '0');
        return kubeTime(new Date(seconds * 1000)).replace(/Z$/, `.${micros}Z`);
      }
      case 'resource.Quantity':
        return this.stringField(buf, 1);
      case 'intstr.IntOrString': {
        let type = 0;
        let intVal = 0;
        let strVal = '';
        for (const field of fieldsOf(buf)) {
          if (field.number === 1) type = Number(BigInt.asIntN(64, varintOf(field)));
          else if (field.number === 2) intVal = Number(BigInt.asIntN(64, varintOf(field)));
          else if (field.number === 3) strVal = textOf(field);
        }
        return type === 1 ? strVal : intVal;
      }
      case 'meta/v1.FieldsV1':
      case 'runtime.RawExtension': {
        const raw = this.stringField(buf, 1);
        if (raw === '') return message === 'meta/v1.FieldsV1' ? {} : null;
        try {
          return JSON.parse(raw) as JsonValue;
        } catch {
          throw new MalformedProtobuf(`${message} does not hold JSON`);
        }
      }
      default:
        return null;
    }
  }

  private timestamp(buf: Buffer): { seconds: number; nanos: number } {
    let seconds = 0;
    let nanos = 0;
    for (const field of fieldsOf(buf)) {
      if (field.number === 1) seconds = Number(BigInt.asIntN(64, varintOf(field)));
      else if (field.number === 2) nanos = Number(BigInt.asIntN(64, varintOf(field)));
    }
    if (!Number.isFinite(new Date(seconds * 1000).getTime()) || nanos < 0 || nanos > 999_999_999) throw new MalformedProtobuf('timestamp out of range');
    return { seconds, nanos };
  }

  private stringField(buf: Buffer, number: number): string {
    let value = '';
    for (const field of fieldsOf(buf)) if (field.number === number) value = textOf(field);
    return value;
  }

  private mapEntry(spec: FieldSpec, field: WireField, depth: number): [string, JsonValue] {
    let key = '';
    let value: JsonValue | undefined;
    for (const inner of fieldsOf(bytesOf(field))) {
      if (inner.number === 1) key = textOf(inner);
      else if (inner.number === 2) value = this.value(spec.type, inner, depth);
    }
    // A map value that is absent on the wire is the type's zero value.
    return [key, value ?? zeroValue(spec.type)];
  }

  /** A repeated field's values: one, or several when a numeric list is packed. */
  private repeatedValues(type: string, field: WireField, depth: number): JsonValue[] {
    if ((type === 'i' || type === 'u' || type === 'b') && field.value.wire === 2) {
      const values: JsonValue[] = [];
      const buf = field.value.value;
      for (let at = 0; at < buf.length; ) {
        const [raw, next] = readVarint(buf, at);
        values.push(scalarOfVarint(type, raw));
        at = next;
      }
      return values;
    }
    const value = this.value(type, field, depth);
    return [value === undefined ? zeroValue(type) : value];
  }

  private value(type: string, field: WireField, depth: number): JsonValue | undefined {
    switch (type) {
      case 's':
        return textOf(field);
      case 'y':
        return bytesOf(field).toString('base64');
      case 'i':
      case 'u':
      case 'b':
        return scalarOfVarint(type, varintOf(field));
      case 'd':
      case 'f': {
        const size = type === 'd' ? 8 : 4;
        if (field.value.wire !== (type === 'd' ? 1 : 5) || field.value.value.length !== size) throw new MalformedProtobuf(`field ${field.number} is not a ${type === 'd' ? 'double' : 'float'}`);
        return type === 'd' ? field.value.value.readDoubleLE(0) : field.value.value.readFloatLE(0);
      }
      default:
        return this.message(type, bytesOf(field), depth + 1);
    }
  }
}

function scalarOfVarint(type: string, raw: bigint): JsonValue {
  if (type === 'b') return raw !== 0n;
  return Number(type === 'u' ? BigInt.asUintN(64, raw) : BigInt.asIntN(64, raw));
}

function zeroValue(type: string): JsonValue {
  if (type === 's' || type === 'y' || type === 'resource.Quantity') return '';
  if (type === 'b') return false;
  if (type === 'i' || type === 'u' || type === 'd' || type === 'f') return 0;
  return {};
}

const decoder = new SchemaDecoder(KUBE_PROTOBUF_SCHEMA);

/** The schema message of a body's apiVersion and kind: a top-level kind with metadata, or DeleteOptions in any group. */
function messageOf(apiVersion: string, kind: string): string | undefined {
  if (kind === 'DeleteOptions') return 'meta/v1.DeleteOptions';
  const name = `${apiVersion}.${kind}`;
  if (!decoder.has(name)) return undefined;
  return decoder.fieldsOfMessage(name).get(1)?.type === 'meta/v1.ObjectMeta' ? name : undefined;
}

/** Decodes a `application/vnd.kubernetes.protobuf` body into the JSON form of the object. */
export function decodeKubeProtobuf(body: Buffer): JsonObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw statusErrors.badRequest('protobuf body does not start with the Kubernetes magic number');
  }
  try {
    let apiVersion = '';
    let kind = '';
    let contentEncoding = '';
    let raw: Buffer | undefined;
    for (const field of fieldsOf(body.subarray(MAGIC.length))) {
      if (field.number === 1) {
        for (const inner of fieldsOf(bytesOf(field))) {
          if (inner.number === 1) apiVersion = textOf(inner);
          else if (inner.number === 2) kind = textOf(inner);
        }
      } else if (field.number === 2) raw = bytesOf(field);
      else if (field.number === 3) contentEncoding = textOf(field);
    }
    if (contentEncoding !== '') throw statusErrors.unsupportedMediaType(`${PROTOBUF_MEDIA_TYPE} with contentEncoding ${contentEncoding}`, [PROTOBUF_MEDIA_TYPE, 'application/json']);
    const message = messageOf(apiVersion, kind);
    if (!message) {
      throw statusErrors.badRequest(`no kind "${kind}" is registered for version "${apiVersion}" in the protobuf bodies this server reads`);
    }
    const decoded = decoder.message(message, raw ?? Buffer.alloc(0), 0) as JsonObject;
    const obj: JsonObject = { apiVersion, kind, ...decoded };
    if (obj.metadata === undefined && kind !== 'DeleteOptions') obj.metadata = {};
    return obj;
  } catch (err) {
    if (err instanceof MalformedProtobuf) throw statusErrors.badRequest(`malformed protobuf body: ${err.message}`);
    throw err;
  }
}
