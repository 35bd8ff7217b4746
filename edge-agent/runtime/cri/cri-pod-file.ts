/**
 * The Pod spec the CRI runtime last synced, saved in `<pod dir>/pod.json` (written to a
 * temporary file renamed over the old one), so that an agent restarted without the hub knows the
 * Pods it adopts from the container runtime: containerd keeps containers, not Pod specs.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../../protocol/index.js';

export const POD_FILE = 'pod.json';

export function savePodFile(dir: string, pod: JsonObject): void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, POD_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify({ version: 1, pod }), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function loadPodFile(dir: string): JsonObject | undefined {
  try {
    const pod = (JSON.parse(readFileSync(path.join(dir, POD_FILE), 'utf8')) as { pod?: unknown }).pod;
    return pod && typeof pod === 'object' && !Array.isArray(pod) ? (pod as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}
