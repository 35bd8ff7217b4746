/**
 * Lifecycle hook messages in the kubelet's words (kuberuntime_container.go), shared by postStart
 * and preStop in both runtimes.
 */
import type { Handler } from './probe-spec.js';

/** `Exec lifecycle hook ([cmd]) for Container "c" failed - error: ..., message: "..."` / `HTTP lifecycle hook (/path) ...`. */
export function hookFailure(hook: 'PostStart' | 'PreStop', handler: Handler, container: string, output: string): string {
  const what = handler.type === 'exec' ? `Exec lifecycle hook ([${handler.command.join(' ').slice(0, 200)}])` : handler.type === 'httpGet' ? `HTTP lifecycle hook (${handler.path.slice(0, 200)})` : 'lifecycle hook';
  return `${what} for Container "${container}" failed - error: ${hook} hook failed, message: ${JSON.stringify(output)}`;
}
