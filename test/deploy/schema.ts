/**
 * Schema validation of rendered objects, with two maintained packages generated from the
 * Kubernetes OpenAPI schema:
 *
 * - kubernetes-models: each kind's JSON-schema validator (types, required fields, enums,
 *   formats such as int-or-string and quantities). Its schemas allow unknown fields, as
 *   Kubernetes' OpenAPI does, so a misspelt `readinesProbe` would pass;
 * - @kubernetes/client-node's model classes, whose attribute maps list every field of every
 *   type: walking an object along them finds unknown fields (what kube-apiserver's
 *   `fieldValidation=Strict` refuses).
 */
import * as client from '@kubernetes/client-node';
import type { KubeObject } from './manifests.js';

type AttributeMap = { name: string; baseName: string; type: string }[];
type ModelClass = { getAttributeTypeMap(): AttributeMap };

const models = client as unknown as Record<string, ModelClass | undefined>;

/** kubernetes-models' validator for the object's kind; throws when the package has no such kind. */
export async function schemaErrors(object: KubeObject): Promise<string | undefined> {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const module = (await import(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`)) as Record<string, unknown>;
  const Model = module[object.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (!Model) throw new Error(`kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  try {
    new Model(object).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Fields that no Kubernetes type of this kind declares, as JSON paths. */
export function unknownFields(object: KubeObject): string[] {
  const version = object.apiVersion.split('/').at(-1)!;
  const typeName = `${version[0]!.toUpperCase()}${version.slice(1)}${object.kind}`;
  if (!models[typeName]?.getAttributeTypeMap) throw new Error(`@kubernetes/client-node has no model ${typeName}`);
  const problems: string[] = [];
  walk(object, typeName, '', problems);
  return problems;
}

function walk(value: unknown, type: string, path: string, problems: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) problems.push(`${path}: expected a list`);
    else value.forEach((item, index) => walk(item, array[1]!, `${path}[${index}]`, problems));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) problems.push(`${path}: expected a mapping`);
    else for (const [key, item] of Object.entries(value)) walk(item, map[1]!, `${path}.${key}`, problems);
    return;
  }
  const model = models[type];
  if (model?.getAttributeTypeMap) {
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${path}: expected an object (${type})`);
      return;
    }
    const fields = new Map(model.getAttributeTypeMap().map((attribute) => [attribute.baseName, attribute.type]));
    for (const [key, item] of Object.entries(value)) {
      const fieldType = fields.get(key);
      if (fieldType === undefined) problems.push(`${path}.${key}: unknown field of ${type}`);
      else walk(item, fieldType, `${path}.${key}`, problems);
    }
    return;
  }
  const expected: Record<string, string[]> = { string: ['string'], number: ['number'], boolean: ['boolean'], Date: ['string'], IntOrString: ['string', 'number'] };
  const allowed = expected[type];
  if (allowed && !allowed.includes(typeof value)) problems.push(`${path}: expected ${type}, got ${typeof value}`);
}
