/**
 * Decoding a request body as kube-apiserver does: into the kind's typed schema. A value of the
 * wrong JSON type (`containerPort: "eighty"`), an unparseable time (`renewTime: "yesterday"`) or
 * quantity is a 400 BadRequest with Go's decoder message, as kube answers; fields the schema
 * does not know are dropped, and the request's `fieldValidation` says what else happens:
 *
 * - `Strict` (what kubectl sends by default): 400 `strict decoding error: unknown field "spec.foo"`;
 * - `Warn` (the server default): each one is a `Warning: 299 - "unknown field \"spec.foo\""` header;
 * - `Ignore`: nothing.
 *
 * Nulls in objects are dropped, as Go's decoder leaves the field unset.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../../protocol/index.js';
import { ApiError, statusErrors } from '../../../protocol/kube/index.js';
import { KubeSchemas, type KindRef, type Schema } from './schema-store.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

const FIELD_VALIDATIONS: readonly FieldValidation[] = ['Ignore', 'Warn', 'Strict'];
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?\d+))?$/;
const INT32 = 2 ** 31;

/** `fieldValidation` of a write; absent is Warn (kube's default). */
export function parseFieldValidation(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation');
  if (value === null || value === '') return 'Warn';
  const match = FIELD_VALIDATIONS.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (!match) throw statusErrors.badRequest(`fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Strict", "Warn"`);
  return match;
}

/** A value of the wrong type: Go's message, which kube wraps in "cannot be handled as a Kind". */
class DecodeError extends Error {}

interface Walk {
  unknown: string[];
}

function jsonTypeName(value: JsonValue): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** The Go type kube's decoder names in its message. */
function goType(schemas: KubeSchemas, schema: Schema): string {
  const ref = KubeSchemas.refName(schema);
  if (ref) {
    const short = ref.split('.');
    return `${short.at(-2) ?? ''}.${short.at(-1) ?? ''}`;
  }
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'integer':
      return schema.format === 'int64' ? 'int64' : 'int32';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'array':
      return `[]${goType(schemas, schema.items ?? {})}`;
    case 'object':
      return schema.additionalProperties ? `map[string]${goType(schemas, schema.additionalProperties)}` : 'map[string]interface {}';
    default:
      return 'interface {}';
  }
}

export class ObjectDecoder {
  constructor(private readonly schemas: KubeSchemas) {}

  /**
   * Checks `obj` against its kind's schema and drops unknown fields in place. Returns the
   * warnings to send (Warn); throws the 400 kube sends for a bad value or, under Strict, for
   * unknown fields.
   */
  decode(def: KindRef, obj: JsonObject, validation: FieldValidation): string[] {
    const walk: Walk = { unknown: [] };
    const kind = def.kind;
    try {
      this.walkObject(obj, this.schemas.kindSchema(def), this.schemas.definitionName(def), '', walk);
    } catch (err) {
      if (err instanceof DecodeError) throw statusErrors.badRequest(`${kind} in version "${def.version}" cannot be handled as a ${kind}: ${err.message}`);
      throw err;
    }
    if (walk.unknown.length === 0 || validation === 'Ignore') return [];
    const messages = walk.unknown.map((field) => `unknown field "${field}"`);
    if (validation === 'Strict') throw new ApiError(400, 'BadRequest', `${kind} in version "${def.version}" cannot be handled as a ${kind}: strict decoding error: ${messages.join(', ')}`);
    return messages;
  }

  private walkObject(obj: JsonObject, schema: Schema, typeName: string, path: string, walk: Walk): void {
    const properties = schema.properties;
    if (!properties) return;
    for (const [key, value] of Object.entries(obj)) {
      const field = path ? `${path}.${key}` : key;
      const property = properties[key];
      if (property === undefined) {
        walk.unknown.push(field);
        delete obj[key];
        continue;
      }
      if (value === null) {
        delete obj[key];
        continue;
      }
      this.walkValue(value, property, typeName, field, walk);
    }
  }

  private walkValue(value: JsonValue, declared: Schema, owner: string, path: string, walk: Walk): void {
    if (value === null) return;
    const schema = this.schemas.resolve(declared);
    const ref = KubeSchemas.refName(declared);
    const fail = (): never => {
      const struct = owner.slice(owner.lastIndexOf('.') + 1);
      const described = typeof value === 'number' ? `number ${value}` : jsonTypeName(value);
      throw new DecodeError(`json: cannot unmarshal ${described} into Go struct field ${struct}.${path.replace(/\[\d+\]/g, '')} of type ${goType(this.schemas, declared)}`);
    };
    switch (ref ?? '') {
      case 'io.k8s.apimachinery.pkg.apis.meta.v1.Time':
      case 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': {
        if (typeof value !== 'string') return fail();
        if (value !== '' && !RFC3339.test(value)) {
          const layout = ref?.endsWith('MicroTime') ? '2006-01-02T15:04:05.000000Z07:00' : '2006-01-02T15:04:05Z07:00';
          throw new DecodeError(`parsing time ${JSON.stringify(value)} as "${layout}": cannot parse ${JSON.stringify(value)} as "2006"`);
        }
        return;
      }
      case 'io.k8s.apimachinery.pkg.api.resource.Quantity':
        if (typeof value === 'number') return;
        if (typeof value !== 'string' || !QUANTITY.test(value)) throw new DecodeError("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
        return;
      case 'io.k8s.apimachinery.pkg.util.intstr.IntOrString':
        if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return;
        throw new DecodeError(`json: cannot unmarshal ${jsonTypeName(value)} into Go value of type int32`);
      case 'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1':
        return;
    }
    switch (schema.type) {
      case 'string':
        if (typeof value !== 'string') fail();
        return;
      case 'boolean':
        if (typeof value !== 'boolean') fail();
        return;
      case 'number':
        if (typeof value !== 'number') fail();
        return;
      case 'integer': {
        if (typeof value !== 'number' || !Number.isInteger(value)) return fail();
        if (schema.format !== 'int64' && (value >= INT32 || value < -INT32)) return fail();
        return;
      }
      case 'array': {
        if (!Array.isArray(value)) return fail();
        const items = schema.items ?? {};
        value.forEach((item, index) => this.walkValue(item, items, owner, `${path}[${index}]`, walk));
        return;
      }
      case 'object': {
        if (!isJsonObject(value)) return fail();
        if (schema.properties) {
          this.walkObject(value, schema, ref ?? owner, path, walk);
        } else if (schema.additionalProperties) {
          for (const [key, item] of Object.entries(value)) this.walkValue(item, schema.additionalProperties, owner, `${path}[${key}]`, walk);
        }
        return;
      }
      default:
        return;
    }
  }
}
