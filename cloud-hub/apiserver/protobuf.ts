/**
 * Just enough of Kubernetes' protobuf encoding to read the bodies kubectl's generator commands
 * send: `kubectl create namespace|configmap|secret` use client-go's typed clients, which POST
 * `application/vnd.kubernetes.protobuf` (while accepting JSON answers). Such a body is the
 * magic `k8s\0`, then a runtime.Unknown {typeMeta, raw} whose raw bytes are the object.
 *
 * Decoded: Namespace, ConfigMap and Secret with their full ObjectMeta (what those commands
 * can set). Any other kind is a 415, asking for JSON. Field numbers are those of
 * k8s.io/api/core/v1 and k8s.io/apimachinery/pkg/apis/meta/v1 generated.proto. The wire format
 * is small enough to read by hand; nothing here encodes (answers are always JSON).
 */
import type { JsonObject, JsonValue } from '../../protocol/index.js';
import { kubeTime, statusErrors } from '../../protocol/kube/index.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type WireValue = { wire: 0; value: bigint } | { wire: 1; value: Buffer } | { wire: 2; value: Buffer } | { wire: 5; value: Buffer };

interface Field {
  number: number;
  value: WireValue;
}

class MalformedProtobuf extends Error {}

/** Reads a varint at `offset`; returns the value and the offset after it. */
function readVarint(buf: Buffer, offset: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let at = offset; at < buf.length && shift < 70n; at++) {
    const byte = buf[at] as number;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, at + 1];
    shift += 7n;
  }
  throw new MalformedProtobuf('truncated varint');
}

/** The fields of one message, in order. */
function fieldsOf(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const [key, afterKey] = readVarint(buf, offset);
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    offset = afterKey;
    switch (wire) {
      case 0: {
        const [value, next] = readVarint(buf, offset);
        fields.push({ number, value: { wire: 0, value } });
        offset = next;
        break;
      }
      case 1:
      case 5: {
        const size = wire === 1 ? 8 : 4;
        if (offset + size > buf.length) throw new MalformedProtobuf('truncated fixed field');
        fields.push({ number, value: { wire, value: buf.subarray(offset, offset + size) } });
        offset += size;
        break;
      }
      case 2: {
        const [length, start] = readVarint(buf, offset);
        const end = start + Number(length);
        if (end > buf.length) throw new MalformedProtobuf('truncated length-delimited field');
        fields.push({ number, value: { wire: 2, value: buf.subarray(start, end) } });
        offset = end;
        break;
      }
      default:
        throw new MalformedProtobuf(`unsupported wire type ${wire}`);
    }
  }
  return fields;
}

function bytes(field: Field): Buffer {
  if (field.value.wire !== 2) throw new MalformedProtobuf(`field ${field.number} is not length-delimited`);
  return field.value.value;
}

function text(field: Field): string {
  return bytes(field).toString('utf8');
}

function integer(field: Field): number {
  if (field.value.wire !== 0) throw new MalformedProtobuf(`field ${field.number} is not a varint`);
  return Number(BigInt.asIntN(64, field.value.value));
}

/** Sets `name` unless the value is the proto default ('' or 0), as Go's JSON omitempty would. */
function setNonEmpty(obj: JsonObject, name: string, value: string | number): void {
  if (value !== '' && value !== 0) obj[name] = value;
}

function mapEntry(field: Field): [string, Buffer] {
  let key = '';
  let value: Buffer = Buffer.alloc(0);
  for (const inner of fieldsOf(bytes(field))) {
    if (inner.number === 1) key = text(inner);
    else if (inner.number === 2) value = bytes(inner);
  }
  return [key, value];
}

function addToMap(obj: JsonObject, name: string, field: Field, encode: (value: Buffer) => string): void {
  const [key, value] = mapEntry(field);
  const map = (obj[name] ?? {}) as JsonObject;
  map[key] = encode(value);
  obj[name] = map;
}

const utf8 = (value: Buffer): string => value.toString('utf8');
const base64 = (value: Buffer): string => value.toString('base64');

function time(field: Field): string | undefined {
  let seconds = 0;
  for (const inner of fieldsOf(bytes(field))) if (inner.number === 1) seconds = integer(inner);
  return seconds === 0 ? undefined : kubeTime(new Date(seconds * 1000));
}

function ownerReference(field: Field): JsonObject {
  const ref: JsonObject = {};
  for (const inner of fieldsOf(bytes(field))) {
    if (inner.number === 1) ref.kind = text(inner);
    else if (inner.number === 3) ref.name = text(inner);
    else if (inner.number === 4) ref.uid = text(inner);
    else if (inner.number === 5) ref.apiVersion = text(inner);
    else if (inner.number === 6) ref.controller = integer(inner) !== 0;
    else if (inner.number === 7) ref.blockOwnerDeletion = integer(inner) !== 0;
  }
  return ref;
}

function objectMeta(buf: Buffer): JsonObject {
  const meta: JsonObject = {};
  const strings: Record<number, string> = { 1: 'name', 2: 'generateName', 3: 'namespace', 4: 'selfLink', 5: 'uid', 6: 'resourceVersion' };
  for (const field of fieldsOf(buf)) {
    const name = strings[field.number];
    if (name) setNonEmpty(meta, name, text(field));
    else if (field.number === 7) setNonEmpty(meta, 'generation', integer(field));
    else if (field.number === 8 || field.number === 9) {
      const at = time(field);
      if (at) meta[field.number === 8 ? 'creationTimestamp' : 'deletionTimestamp'] = at;
    } else if (field.number === 10) meta.deletionGracePeriodSeconds = integer(field);
    else if (field.number === 11) addToMap(meta, 'labels', field, utf8);
    else if (field.number === 12) addToMap(meta, 'annotations', field, utf8);
    else if (field.number === 13) meta.ownerReferences = [...((meta.ownerReferences as JsonValue[] | undefined) ?? []), ownerReference(field)];
    else if (field.number === 14) meta.finalizers = [...((meta.finalizers as JsonValue[] | undefined) ?? []), text(field)];
  }
  return meta;
}

/** Kind-specific fields after metadata (field 1), by kind. */
const KIND_DECODERS: Record<string, (obj: JsonObject, field: Field) => void> = {
  ConfigMap(obj, field) {
    if (field.number === 2) addToMap(obj, 'data', field, utf8);
    else if (field.number === 3) addToMap(obj, 'binaryData', field, base64);
    else if (field.number === 4) obj.immutable = integer(field) !== 0;
  },
  Secret(obj, field) {
    if (field.number === 2) addToMap(obj, 'data', field, base64);
    else if (field.number === 3) setNonEmpty(obj, 'type', text(field));
    else if (field.number === 4) addToMap(obj, 'stringData', field, utf8);
    else if (field.number === 5) obj.immutable = integer(field) !== 0;
  },
  Namespace(obj, field) {
    if (field.number === 2) {
      const finalizers = fieldsOf(bytes(field)).filter((inner) => inner.number === 1).map(text);
      obj.spec = finalizers.length > 0 ? { finalizers } : {};
    } else if (field.number === 3) {
      const phase = fieldsOf(bytes(field)).find((inner) => inner.number === 1);
      obj.status = phase ? { phase: text(phase) } : {};
    }
  },
};

/** Decodes a `application/vnd.kubernetes.protobuf` body into the JSON form of the object. */
export function decodeKubeProtobuf(body: Buffer): JsonObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw statusErrors.badRequest('protobuf body does not start with the Kubernetes magic number');
  }
  try {
    let apiVersion = '';
    let kind = '';
    let raw: Buffer | undefined;
    for (const field of fieldsOf(body.subarray(MAGIC.length))) {
      if (field.number === 1) {
        for (const inner of fieldsOf(bytes(field))) {
          if (inner.number === 1) apiVersion = text(inner);
          else if (inner.number === 2) kind = text(inner);
        }
      } else if (field.number === 2) {
        raw = bytes(field);
      }
    }
    const decodeKind = KIND_DECODERS[kind];
    if (!decodeKind || apiVersion !== 'v1') {
      throw statusErrors.unsupportedMediaType(PROTOBUF_MEDIA_TYPE, ['application/json', 'application/yaml', `${PROTOBUF_MEDIA_TYPE} (Namespace, ConfigMap and Secret only)`]);
    }
    const obj: JsonObject = { apiVersion, kind };
    for (const field of fieldsOf(raw ?? Buffer.alloc(0))) {
      if (field.number === 1) obj.metadata = objectMeta(bytes(field));
      else decodeKind(obj, field);
    }
    if (obj.metadata === undefined) obj.metadata = {};
    return obj;
  } catch (err) {
    if (err instanceof MalformedProtobuf) throw statusErrors.badRequest(`malformed protobuf body: ${err.message}`);
    throw err;
  }
}
