/**
 * A client-node KubeConfig whose API clients reuse connections. client-node 1.x builds a new
 * https.Agent for every request (config.ts applySecurityAuthentication), so each write opens a
 * TCP connection and does a TLS handshake; at 1,000 writes/s that alone would use a core of
 * this machine and measure client-node instead of the hub. We keep the per-request agent's TLS
 * options (CA, client certificate) and swap in one pooled keep-alive agent.
 */
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';

export class KeepAliveKubeConfig extends KubeConfig {
  private agent: http.Agent | undefined;

  constructor(private readonly maxSockets = 64) {
    super();
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    if (!this.agent) {
      const perRequest = context.getAgent();
      this.agent =
        perRequest instanceof https.Agent
          ? new https.Agent({ ...perRequest.options, keepAlive: true, maxSockets: this.maxSockets })
          : new http.Agent({ keepAlive: true, maxSockets: this.maxSockets });
    }
    context.setAgent(this.agent);
  }

  close(): void {
    this.agent?.destroy();
  }
}

export function loadKeepAliveKubeConfig(file: string, maxSockets?: number): KeepAliveKubeConfig {
  const config = new KeepAliveKubeConfig(maxSockets);
  config.loadFromFile(file);
  return config;
}
