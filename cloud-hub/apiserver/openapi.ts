/**
 * The OpenAPI documents kube-apiserver serves, for the kinds served here, built from the kinds'
 * definitions (schema/kube-openapi.json) on the first request for them:
 *
 * - `/openapi/v2`: Swagger 2.0 JSON, every definition plus a PATCH path per kind. client-go asks
 *   for it in protobuf (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), which is
 *   not produced here: such a request that does not also accept JSON gets 406.
 * - `/openapi/v3`: the index; `/openapi/v3/api/v1`, `/openapi/v3/apis/GROUP/VERSION`: OpenAPI
 *   3.0 per group version, with the schemas its kinds reach. `kubectl explain` reads these.
 *
 * Each kind's path has a PATCH operation taking `fieldValidation`: kubectl 1.32 looks for it
 * before `create/apply/replace` and then leaves validation to the server (without any OpenAPI it
 * refuses with "failed to download openapi"). Strategic merge is not listed as a PATCH content
 * type: kubectl computes apply/edit patches from its built-in types either way.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../../protocol/index.js';
import { statusErrors } from '../../protocol/kube/index.js';
import { PATCH_TYPES } from './patch.js';
import { apiVersionOf, type ResourceCatalog, type ResourceDefinition } from './resources.js';
import type { KubeSchemas, Schema } from './schema/schema-store.js';

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

interface Serialized {
  body: string;
  hash: string;
}

function serialize(doc: JsonObject): Serialized {
  const body = JSON.stringify(doc);
  return { body, hash: createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase() };
}

export function groupVersionPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** True when an Accept header admits JSON (or says nothing). */
function acceptsJson(accept: string | undefined): boolean {
  if (!accept || accept.trim() === '') return true;
  return accept.split(',').some((part) => {
    const type = part.split(';')[0]?.trim().toLowerCase() ?? '';
    return type === 'application/json' || type === 'application/*' || type === '*/*';
  });
}

/** `$ref: '#/definitions/X'` → `#/components/schemas/X`; a $ref with siblings becomes allOf, as kube writes v3. */
function toV3(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref') continue;
    if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([name, inner]) => [name, toV3(inner)]));
    } else if ((key === 'items' || key === 'additionalProperties') && value && typeof value === 'object') {
      out[key] = toV3(value as Schema);
    } else {
      out[key] = value;
    }
  }
  if (schema.$ref) {
    const ref = schema.$ref.replace('#/definitions/', '#/components/schemas/');
    if (Object.keys(out).length === 0) return { $ref: ref };
    out.allOf = [{ $ref: ref }];
  }
  return out;
}

function patchParameters(v3: boolean): JsonObject[] {
  const param = (name: string): JsonObject => (v3 ? { name, in: 'query', schema: { type: 'string', uniqueItems: true } } : { name, in: 'query', type: 'string', uniqueItems: true });
  return [param('dryRun'), param('fieldManager'), param('fieldValidation')];
}

export class OpenApiDocuments {
  private v2: Serialized | undefined;
  private readonly v3 = new Map<string, Serialized>();

  constructor(
    private readonly catalog: ResourceCatalog,
    private readonly schemas: KubeSchemas,
    private readonly title: string,
    private readonly version: string,
  ) {}

  /** The answer to a GET under /openapi/, or undefined when the path names no document. */
  document(pathname: string, accept: string | undefined): JsonObject | string | undefined {
    if (pathname === '/openapi/v2') {
      if (!acceptsJson(accept)) throw statusErrors.notAcceptable(['application/json']);
      this.v2 ??= serialize(this.buildV2());
      return this.v2.body;
    }
    if (pathname === '/openapi/v3') return this.v3Index();
    if (!pathname.startsWith('/openapi/v3/')) return undefined;
    const gvPath = pathname.slice('/openapi/v3/'.length);
    const gv = this.catalog.groupVersions().find(({ group, version }) => groupVersionPath(group, version) === gvPath);
    if (!gv) return undefined;
    return this.v3For(gv.group, gv.version).body;
  }

  private v3Index(): JsonObject {
    const paths: JsonObject = {};
    for (const { group, version } of this.catalog.groupVersions()) {
      const path = groupVersionPath(group, version);
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${this.v3For(group, version).hash}` };
    }
    return { paths };
  }

  private v3For(group: string, version: string): Serialized {
    const key = `${group}/${version}`;
    let doc = this.v3.get(key);
    if (!doc) {
      doc = serialize(this.buildV3(group, version));
      this.v3.set(key, doc);
    }
    return doc;
  }

  private itemPath(def: ResourceDefinition): string {
    return `/${groupVersionPath(def.group, def.version)}${def.namespaced ? '/namespaces/{namespace}' : ''}/${def.resource}/{name}`;
  }

  private patchOperation(def: ResourceDefinition, v3: boolean): JsonObject {
    const types = [PATCH_TYPES.json, PATCH_TYPES.merge];
    const ref = v3 ? `#/components/schemas/${this.schemas.definitionName(def)}` : `#/definitions/${this.schemas.definitionName(def)}`;
    const common = {
      operationId: `patch${def.namespaced ? 'Namespaced' : ''}${def.kind}`,
      'x-kubernetes-action': 'patch',
      'x-kubernetes-group-version-kind': { group: def.group, version: def.version, kind: def.kind },
      description: `partially update the specified ${def.kind} (${apiVersionOf(def)})`,
    };
    if (v3) {
      return {
        ...common,
        parameters: patchParameters(true),
        requestBody: { content: Object.fromEntries(types.map((type) => [type, { schema: { type: 'object' } }])), required: true },
        responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: ref } } } } },
      };
    }
    return {
      ...common,
      consumes: types,
      produces: ['application/json'],
      parameters: [...patchParameters(false), { name: 'body', in: 'body', required: true, schema: { type: 'object' } }],
      responses: { '200': { description: 'OK', schema: { $ref: ref } } },
    };
  }

  private buildV2(): JsonObject {
    const paths: JsonObject = {};
    for (const def of this.catalog.definitions) paths[this.itemPath(def)] = { patch: this.patchOperation(def, false) };
    return { swagger: '2.0', info: { title: this.title, version: this.version }, paths, definitions: this.schemas.definitions as unknown as JsonObject };
  }

  private buildV3(group: string, version: string): JsonObject {
    const paths: JsonObject = {};
    const wanted: string[] = [];
    for (const def of this.catalog.inGroupVersion(group, version)) {
      paths[this.itemPath(def)] = { patch: this.patchOperation(def, true) };
      wanted.push(this.schemas.definitionName(def));
    }
    const schemas: Record<string, Schema> = {};
    while (wanted.length > 0) {
      const name = wanted.pop() as string;
      if (schemas[name]) continue;
      const schema = this.schemas.definitions[name];
      if (!schema) continue;
      schemas[name] = toV3(schema);
      JSON.stringify(schema, (key, value: unknown) => {
        if (key === '$ref' && typeof value === 'string') wanted.push(value.slice('#/definitions/'.length));
        return value;
      });
    }
    return { openapi: '3.0.0', info: { title: this.title, version: this.version }, paths, components: { schemas: schemas as unknown as JsonObject } };
  }
}
