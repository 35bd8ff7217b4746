/**
 * The protocol-buffers wire format, read only: varints and the fields of one message. Kubernetes'
 * protobuf bodies (protobuf.ts) and the schema generator (scripts/kube-protobuf-schema.ts) use it.
 * Every length is checked against the buffer, so hostile input is a MalformedProtobuf, never a
 * read past the end.
 */

export type WireValue = { wire: 0; value: bigint } | { wire: 1; value: Buffer } | { wire: 2; value: Buffer } | { wire: 5; value: Buffer };

export interface WireField {
  number: number;
  value: WireValue;
}

export class MalformedProtobuf extends Error {}

/** Reads a varint at `offset`; returns the value and the offset after it. */
export function readVarint(buf: Buffer, offset: number): [bigint, number] {
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
export function fieldsOf(buf: Buffer): WireField[] {
  const fields: WireField[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const [key, afterKey] = readVarint(buf, offset);
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (number === 0) throw new MalformedProtobuf('field number 0');
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
        if (length > BigInt(buf.length - start)) throw new MalformedProtobuf('truncated length-delimited field');
        const end = start + Number(length);
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

export function bytesOf(field: WireField): Buffer {
  if (field.value.wire !== 2) throw new MalformedProtobuf(`field ${field.number} is not length-delimited`);
  return field.value.value;
}

export function textOf(field: WireField): string {
  return bytesOf(field).toString('utf8');
}

/** A varint field as a signed 64-bit integer (int32 and int64 both encode negatives in ten bytes). */
export function varintOf(field: WireField): bigint {
  if (field.value.wire !== 0) throw new MalformedProtobuf(`field ${field.number} is not a varint`);
  return field.value.value;
}

export function integerOf(field: WireField): number {
  return Number(BigInt.asIntN(64, varintOf(field)));
}
