/**
 * Runs one handler (a probe's or a lifecycle hook's) against one container instance, cut at
 * its timeout: exec through the runtime's way into the container (`ProbeTarget.exec`), httpGet,
 * tcpSocket and grpc over the network (the Pod shares the host's, so the default host is the
 * Pod IP, i.e. the host's address). Never rejects: every problem is a failed outcome.
 */
import { GrpcProber } from './grpc-prober.js';
import { httpProbe } from './http-prober.js';
import { outcome, withTimeout, type ProbeOutcome } from './probe-result.js';
import type { Handler } from './probe-spec.js';
import { tcpProbe } from './tcp-prober.js';

/** One container instance as the probers reach it. */
export interface ProbeTarget {
  /** The Pod IP: the default host of httpGet, tcpSocket and grpc. */
  host: string;
  /** Runs `command` in the container (its filesystem view and environment); aborted by `signal` at `timeoutMs`. */
  exec(command: string[], timeoutMs: number, signal: AbortSignal): Promise<{ exitCode: number; output: string }>;
}

export class Prober {
  private readonly grpc = new GrpcProber();

  run(handler: Handler, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
    return withTimeout((signal) => this.once(handler, target, timeoutMs, signal), timeoutMs, describe(handler));
  }

  private async once(handler: Handler, target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeOutcome> {
    switch (handler.type) {
      case 'exec': {
        const result = await target.exec(handler.command, timeoutMs, signal);
        if (result.exitCode === 0) return outcome(true, result.output);
        return outcome(false, result.output.trim() || `command ${JSON.stringify(handler.command.join(' ').slice(0, 200))} exited with ${result.exitCode}`);
      }
      case 'httpGet':
        return httpProbe(handler, target.host, signal);
      case 'tcpSocket':
        return tcpProbe(handler, target.host, signal);
      case 'grpc':
        return this.grpc.probe(handler, target.host, timeoutMs, signal);
    }
  }
}

function describe(handler: Handler): string {
  switch (handler.type) {
    case 'exec':
      return `command ${JSON.stringify(handler.command.join(' ').slice(0, 200))}`;
    case 'httpGet':
      return `Get ${handler.scheme.toLowerCase()}://${handler.host ?? '<pod ip>'}:${handler.port}${handler.path.slice(0, 200)}`;
    case 'tcpSocket':
      return `dial tcp :${handler.port}`;
    case 'grpc':
      return `grpc health check on port ${handler.port}`;
  }
}
