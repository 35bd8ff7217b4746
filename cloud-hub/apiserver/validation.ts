/**
 * What the embedded API refuses with 422 Invalid: the object-meta rules every kind shares
 * (names, labels, annotations, finalizers) and the few kind rules that clients rely on being
 * enforced (a Pod has named containers with images, config keys are well formed). Messages are
 * kube-apiserver's, so `kubectl` shows the same text against either server.
 */
import { dns1123LabelError, dns1123SubdomainError, isJsonObject, type JsonObject } from '../../protocol/index.js';
import { arrayField, labelKeyError, labelValueError, objectField, objectsIn, stringField, type FieldError } from '../../protocol/kube/index.js';
import type { NameRule, ResourceDefinition } from './resources.js';
import { kindRuleErrors } from './schema/kind-rules.js';

const SUBDOMAIN_HINT = "(e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_HINT = "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

/** kube's message for a name that breaks `rule`, or undefined when the name is fine. */
export function nameError(name: string, rule: NameRule): string | undefined {
  if (rule === 'dns1123-label') {
    const why = dns1123LabelError(name);
    if (why === undefined) return undefined;
    return why.startsWith('must consist') ? `a lowercase RFC 1123 label ${why} ${LABEL_HINT}` : why;
  }
  const why = dns1123SubdomainError(name);
  if (why === undefined) return undefined;
  return why.startsWith('must consist') ? `a lowercase RFC 1123 subdomain ${why} ${SUBDOMAIN_HINT}` : why;
}

/** Rules on metadata shared by every kind. `name` is the final name (after generateName). */
export function validateObjectMeta(def: ResourceDefinition, obj: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const meta = objectField(obj, 'metadata') ?? {};
  const name = stringField(meta, 'name') ?? '';
  if (name === '') {
    errors.push({ field: 'metadata.name', type: 'Required value', detail: 'name or generateName is required' });
  } else {
    const why = nameError(name, def.nameRule);
    if (why) errors.push({ field: 'metadata.name', type: 'Invalid value', value: name, detail: why });
  }
  const labels = meta.labels;
  if (labels !== undefined && labels !== null) {
    if (!isJsonObject(labels)) {
      errors.push({ field: 'metadata.labels', type: 'Invalid value', value: labels, detail: 'must be a map of strings' });
    } else {
      for (const [key, value] of Object.entries(labels)) {
        const keyWhy = labelKeyError(key);
        if (keyWhy) errors.push({ field: 'metadata.labels', type: 'Invalid value', value: key, detail: keyWhy });
        if (typeof value !== 'string') errors.push({ field: `metadata.labels`, type: 'Invalid value', value, detail: 'label values must be strings' });
        else {
          const valueWhy = labelValueError(value);
          if (valueWhy) errors.push({ field: 'metadata.labels', type: 'Invalid value', value, detail: valueWhy });
        }
      }
    }
  }
  const annotations = meta.annotations;
  if (annotations !== undefined && annotations !== null) {
    if (!isJsonObject(annotations)) {
      errors.push({ field: 'metadata.annotations', type: 'Invalid value', value: annotations, detail: 'must be a map of strings' });
    } else {
      let total = 0;
      for (const [key, value] of Object.entries(annotations)) {
        const keyWhy = labelKeyError(key.toLowerCase());
        if (keyWhy) errors.push({ field: 'metadata.annotations', type: 'Invalid value', value: key, detail: keyWhy });
        if (typeof value !== 'string') errors.push({ field: 'metadata.annotations', type: 'Invalid value', value, detail: 'annotation values must be strings' });
        total += key.length + (typeof value === 'string' ? value.length : 0);
      }
      if (total > ANNOTATIONS_MAX_BYTES) errors.push({ field: 'metadata.annotations', type: 'Too long', detail: `must have at most ${ANNOTATIONS_MAX_BYTES} bytes` });
    }
  }
  arrayField(meta, 'finalizers').forEach((finalizer, index) => {
    const field = `metadata.finalizers[${index}]`;
    if (typeof finalizer !== 'string') {
      errors.push({ field, type: 'Invalid value', value: finalizer, detail: 'must be a string' });
    } else if (!STANDARD_FINALIZERS.has(finalizer)) {
      if (!finalizer.includes('/')) errors.push({ field, type: 'Invalid value', value: finalizer, detail: 'name is neither a standard finalizer name nor is it fully qualified' });
      else {
        const why = labelKeyError(finalizer);
        if (why) errors.push({ field, type: 'Invalid value', value: finalizer, detail: why });
      }
    }
  });
  return errors;
}

function validateContainers(containers: JsonObject[], path: string, required: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (required && containers.length === 0) errors.push({ field: path, type: 'Required value' });
  const seen = new Set<string>();
  containers.forEach((container, index) => {
    const name = stringField(container, 'name') ?? '';
    if (name === '') errors.push({ field: `${path}[${index}].name`, type: 'Required value' });
    else {
      const why = nameError(name, 'dns1123-label');
      if (why) errors.push({ field: `${path}[${index}].name`, type: 'Invalid value', value: name, detail: why });
      if (seen.has(name)) errors.push({ field: `${path}[${index}].name`, type: 'Duplicate value', value: name });
      seen.add(name);
    }
    if ((stringField(container, 'image') ?? '') === '') errors.push({ field: `${path}[${index}].image`, type: 'Required value' });
  });
  return errors;
}

function validateConfigKeys(obj: JsonObject, fields: string[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of fields) {
    const data = obj[field];
    if (data === undefined || data === null) continue;
    if (!isJsonObject(data)) {
      errors.push({ field, type: 'Invalid value', value: data, detail: 'must be a map' });
      continue;
    }
    for (const [key, value] of Object.entries(data)) {
      if (key.length > 253 || !CONFIG_KEY.test(key)) {
        errors.push({
          field: `${field}[${key}]`,
          type: 'Invalid value',
          value: key,
          detail: "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        });
      }
      if (typeof value !== 'string') errors.push({ field: `${field}[${key}]`, type: 'Invalid value', value, detail: 'must be a string' });
    }
  }
  return errors;
}

/** The kind-specific rules, on the object as it would be stored. */
export function validateKind(def: ResourceDefinition, obj: JsonObject): FieldError[] {
  return [...baseKindErrors(def, obj), ...kindRuleErrors(def.kind, obj)];
}

function baseKindErrors(def: ResourceDefinition, obj: JsonObject): FieldError[] {
  switch (def.kind) {
    case 'Pod': {
      const spec = objectField(obj, 'spec');
      if (!spec) return [{ field: 'spec', type: 'Required value' }];
      return [
        ...validateContainers(objectsIn(arrayField(spec, 'containers')), 'spec.containers', true),
        ...validateContainers(objectsIn(arrayField(spec, 'initContainers')), 'spec.initContainers', false),
      ];
    }
    case 'ConfigMap':
      return validateConfigKeys(obj, ['data', 'binaryData']);
    case 'Secret':
      return validateConfigKeys(obj, ['data']);
    default:
      return [];
  }
}
