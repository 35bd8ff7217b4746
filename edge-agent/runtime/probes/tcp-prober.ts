/** tcpSocket probes (the kubelet's prober/tcp): success when a TCP connection opens; it is closed at once. */
import net from 'node:net';
import type { Handler } from './probe-spec.js';
import { outcome, type ProbeOutcome } from './probe-result.js';

export function tcpProbe(handler: Extract<Handler, { type: 'tcpSocket' }>, defaultHost: string, signal: AbortSignal): Promise<ProbeOutcome> {
  const host = handler.host ?? defaultHost;
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: handler.port });
    const finish = (result: ProbeOutcome) => {
      socket.destroy();
      signal.removeEventListener('abort', abort);
      resolve(result);
    };
    const abort = () => finish(outcome(false, `dial tcp ${host}:${handler.port}: i/o timeout`));
    signal.addEventListener('abort', abort);
    socket.once('connect', () => finish(outcome(true, '')));
    socket.once('error', (err) => finish(outcome(false, `dial tcp ${host}:${handler.port}: ${err.message}`)));
  });
}
