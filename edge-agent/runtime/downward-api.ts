/**
 * The downward API: Pod fields exposed to its containers through env (`fieldRef`) and files
 * (`downwardAPI` volumes and projections). Containers share the host's network here, so the
 * Pod IP is the host IP.
 */
import type { PodView } from './pod-spec.js';

export type FieldValue = { ok: true; value: string } | { ok: false; message: string };

export interface DownwardContext {
  pod: PodView;
  hostIP: string;
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['(.+)'\]$/;

/**
 * The value of `fieldPath` as the kubelet computes it. `metadata.labels` and
 * `metadata.annotations` (whole maps) are only valid in volumes; env uses a subscript.
 */
export function fieldValue(context: DownwardContext, fieldPath: string, usage: 'env' | 'volume'): FieldValue {
  const { pod, hostIP } = context;
  const subscript = SUBSCRIPT.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === 'labels' ? pod.labels : pod.annotations;
    return { ok: true, value: map[subscript[2] ?? ''] ?? '' };
  }
  switch (fieldPath) {
    case 'metadata.name':
      return { ok: true, value: pod.name };
    case 'metadata.namespace':
      return { ok: true, value: pod.namespace };
    case 'metadata.uid':
      return { ok: true, value: pod.uid };
    case 'spec.nodeName':
      return { ok: true, value: pod.nodeName };
    case 'spec.serviceAccountName':
      return { ok: true, value: pod.serviceAccountName };
    case 'status.hostIP':
    case 'status.hostIPs':
    case 'status.podIP':
    case 'status.podIPs':
      return { ok: true, value: hostIP };
    case 'metadata.labels':
    case 'metadata.annotations':
      if (usage === 'volume') return { ok: true, value: formatMap(fieldPath === 'metadata.labels' ? pod.labels : pod.annotations) };
      return { ok: false, message: `fieldRef ${fieldPath} is only valid in a downwardAPI volume` };
    default:
      return { ok: false, message: `unsupported fieldRef fieldPath ${JSON.stringify(fieldPath)}` };
  }
}

/** `key="value"` lines sorted by key, no trailing newline: the kubelet's fieldpath.FormatMap. */
export function formatMap(map: Record<string, string>): string {
  return Object.keys(map)
    .sort()
    .map((key) => `${key}=${goQuote(map[key] ?? '')}`)
    .join('\n');
}

/** Go's strconv.Quote (the `%q` the kubelet formats with) for the characters labels can hold. */
export function goQuote(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    switch (char) {
      case '"':
        out += '\\"';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\x07':
        out += '\\a';
        break;
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\v':
        out += '\\v';
        break;
      default:
        out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : char;
    }
  }
  return `${out}"`;
}
