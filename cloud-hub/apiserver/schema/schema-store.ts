/**
 * The OpenAPI v2 definitions of the served kinds (kube-openapi.json beside this file, generated
 * by scripts/gen-kube-openapi.ts from @kubernetes/client-node's models of the upstream spec),
 * read from disk on first use: a server that never decodes a write or serves /openapi never
 * holds them (about 0.3 MB parsed).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One OpenAPI v2 schema object (only what this server reads of it is typed). */
export interface Schema {
  type?: string;
  format?: string;
  description?: string;
  $ref?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  [extension: string]: unknown;
}

/** A kind by group, version and name (what a resource definition says of its kind). */
export interface KindRef {
  group: string;
  version: string;
  kind: string;
}

interface SchemaDocument {
  source: string;
  definitions: Record<string, Schema>;
}

const DEFAULT_FILE = fileURLToPath(new URL('./kube-openapi.json', import.meta.url));

export class KubeSchemas {
  private document: SchemaDocument | undefined;
  private readonly byKind = new Map<string, string>();

  constructor(private readonly file: string = DEFAULT_FILE) {}

  /** True once the definitions were read (for tests of laziness). */
  get loaded(): boolean {
    return this.document !== undefined;
  }

  get source(): string {
    return this.load().source;
  }

  get definitions(): Readonly<Record<string, Schema>> {
    return this.load().definitions;
  }

  /** `io.k8s.api.core.v1.Pod` for the Pod definition. */
  definitionName(def: KindRef): string {
    const key = `${def.group}/${def.version}/${def.kind}`;
    let name = this.byKind.get(key);
    if (name === undefined) {
      for (const [candidate, schema] of Object.entries(this.definitions)) {
        const gvk = schema['x-kubernetes-group-version-kind'];
        if (gvk?.some((entry) => entry.group === def.group && entry.version === def.version && entry.kind === def.kind)) name = candidate;
      }
      if (name === undefined) throw new Error(`no OpenAPI definition for ${key}`);
      this.byKind.set(key, name);
    }
    return name;
  }

  kindSchema(def: KindRef): Schema {
    return this.definitions[this.definitionName(def)] as Schema;
  }

  /** The schema a `$ref` names, or the schema itself. */
  resolve(schema: Schema): Schema {
    let current = schema;
    for (let hops = 0; current.$ref !== undefined && hops < 8; hops++) {
      const target = this.definitions[current.$ref.slice('#/definitions/'.length)];
      if (!target) throw new Error(`unresolved $ref ${current.$ref}`);
      current = target;
    }
    return current;
  }

  /** The definition name a schema refers to (`io.k8s.api.core.v1.Container`), if it is a $ref. */
  static refName(schema: Schema): string | undefined {
    return schema.$ref?.slice('#/definitions/'.length);
  }

  private load(): SchemaDocument {
    this.document ??= JSON.parse(readFileSync(this.file, 'utf8')) as SchemaDocument;
    return this.document;
  }
}
