/**
 * The command-line flags of the hub's kubelet-compatible endpoint (cloud-hub/streams/) and of
 * stream tunnels, and the settings they make. Certificates are loaded here (the generated PKI
 * only when no certificate is given), so a bad file fails the start.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseHostPort, parsePositiveInt } from './cli-options.js';
import type { PeerSettings } from './kubelet-endpoint.js';
import type { KubeletEndpointSettings } from './streams/kubelet-server.js';
import { DEFAULT_TUNNEL_LIMITS, type TunnelLimits } from './streams/tunnel-broker.js';
import type { HostPort } from './transport/host-port.js';

export interface KubeletFlags {
  kubeletListen?: HostPort;
  kubeletTlsCert?: string;
  kubeletTlsKey?: string;
  kubeletClientCaFile?: string;
  kubeletAuthenticationTokenWebhook?: boolean;
  kubeletAuthorizationMode?: 'AlwaysAllow' | 'Webhook';
  tunnelMaxPending: number;
  tunnelMaxOpen: number;
  tunnelIdleTimeout: number;
  peerAddress?: string;
  peerCaFile?: string;
  peerTlsServerName?: string;
  peerTokenFile?: string;
  peerProbeTimeout: number;
}

function parsePeerAddress(value: string): string {
  const { host, port } = parseHostPort(value);
  if (port === 0 || host === '0.0.0.0' || host === '::') throw new InvalidArgumentError(`expected the HOST:PORT peers dial (a specific host and port), got "${value}"`);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function withKubeletFlags(command: Command): Command {
  return command
    .addOption(
      new Option('--kubelet-listen <host:port>', 'serve the kubelet-compatible HTTPS endpoint (kubectl logs, exec, attach, port-forward, top) here; a real cluster: 0.0.0.0:10350 (deploy/README.md). Default: 127.0.0.1:0 with --embedded, else off')
        .argParser(parseHostPort)
        .env('EDGE_KUBELET_LISTEN'),
    )
    .addOption(new Option('--kubelet-tls-cert <file>', 'PEM certificate of the kubelet endpoint (default: one signed by a CA generated in --data, hub-kubelet-ca.crt)').env('EDGE_KUBELET_TLS_CERT'))
    .addOption(new Option('--kubelet-tls-key <file>', 'PEM private key of --kubelet-tls-cert').env('EDGE_KUBELET_TLS_KEY'))
    .addOption(
      new Option('--kubelet-client-ca-file <file>', 'CA whose client certificates authenticate callers: the CA of kube-apiserver\'s --kubelet-client-certificate (default with --embedded: the embedded API\'s CA)').env(
        'EDGE_KUBELET_CLIENT_CA_FILE',
      ),
    )
    .addOption(new Option('--kubelet-authentication-token-webhook', 'also accept bearer tokens, checked with a TokenReview (the kubelet\'s flag)').env('EDGE_KUBELET_AUTHENTICATION_TOKEN_WEBHOOK'))
    .addOption(
      new Option('--kubelet-authorization-mode <mode>', 'Webhook: authorise each request with a SubjectAccessReview on nodes/proxy, nodes/log, nodes/stats, nodes/metrics, as the kubelet does; AlwaysAllow: any authenticated caller (default with --embedded)')
        .choices(['AlwaysAllow', 'Webhook'])
        .env('EDGE_KUBELET_AUTHORIZATION_MODE'),
    )
    .addOption(new Option('--tunnel-max-pending <n>', 'stream tunnels asked of one node and not yet opened; more requests get 429').default(DEFAULT_TUNNEL_LIMITS.maxPending).argParser(parsePositiveInt).env('EDGE_TUNNEL_MAX_PENDING'))
    .addOption(new Option('--tunnel-max-open <n>', 'open stream tunnels (logs -f, exec, port-forward connections) per node; more requests get 429').default(DEFAULT_TUNNEL_LIMITS.maxOpen).argParser(parsePositiveInt).env('EDGE_TUNNEL_MAX_OPEN'))
    .addOption(new Option('--tunnel-idle-timeout <ms>', 'a stream tunnel with no bytes either way for this long is closed').default(DEFAULT_TUNNEL_LIMITS.idleMs).argParser(parsePositiveInt).env('EDGE_TUNNEL_IDLE_TIMEOUT'))
    .addOption(
      new Option('--peer-address <host:port>', 'several replicas (not with --embedded): where the other replicas reach this one\'s kubelet endpoint, published on its membership Lease; default: the --kubelet-listen host when specific, else this host\'s first IPv4 address (in a pod: its IP), with the bound port')
        .argParser(parsePeerAddress)
        .env('EDGE_PEER_ADDRESS'),
    )
    .addOption(new Option('--peer-ca-file <file>', 'several replicas: CA the replicas\' kubelet endpoint certificates are signed by; requests are forwarded only over TLS verified against it (default: the CA of this replica\'s own --kubelet-tls-cert, or of its generated one)').env('EDGE_PEER_CA_FILE'))
    .addOption(new Option('--peer-tls-server-name <name>', 'several replicas: the DNS name the replicas\' shared certificate carries (default: verify the peer\'s address)').env('EDGE_PEER_TLS_SERVER_NAME'))
    .addOption(
      new Option('--peer-token-file <file>', 'several replicas: the bearer token this replica presents to the others, checked there with a TokenReview (default: the ServiceAccount token, else the kubeconfig\'s)').env('EDGE_PEER_TOKEN_FILE'),
    )
    .addOption(new Option('--peer-probe-timeout <ms>', 'several replicas: how long a replica waits for another to say whether it holds a node\'s session').default(2_000).argParser(parsePositiveInt).env('EDGE_PEER_PROBE_TIMEOUT'));
}

export function tunnelLimitsFrom(flags: KubeletFlags): Partial<TunnelLimits> {
  return { maxPending: flags.tunnelMaxPending, maxOpen: flags.tunnelMaxOpen, idleMs: flags.tunnelIdleTimeout };
}

/** How replicas forward to each other (`caPem`: the CA of this replica's own kubelet certificate). */
export function peerSettingsFrom(flags: KubeletFlags, caPem: string): PeerSettings {
  return {
    ...(flags.peerAddress ? { address: flags.peerAddress } : {}),
    ca: flags.peerCaFile ? readFileSync(flags.peerCaFile, 'utf8') : caPem,
    ...(flags.peerTlsServerName ? { serverName: flags.peerTlsServerName } : {}),
    ...(flags.peerTokenFile ? { tokenFile: flags.peerTokenFile } : {}),
    probeTimeoutMs: flags.peerProbeTimeout,
    maxProbesPerPeer: 64,
  };
}

/** The endpoint's settings, or undefined when it is off; `embeddedCaFile` is the embedded API's CA with --embedded. */
export async function kubeletSettingsFrom(flags: KubeletFlags, dataDir: string, extraHosts: readonly string[], embeddedCaFile?: string): Promise<(KubeletEndpointSettings & { caPem: string }) | undefined> {
  const listen = flags.kubeletListen ?? (embeddedCaFile ? { host: '127.0.0.1', port: 0 } : undefined);
  if (!listen) return undefined;
  if (Boolean(flags.kubeletTlsCert) !== Boolean(flags.kubeletTlsKey)) throw new Error('--kubelet-tls-cert and --kubelet-tls-key go together');
  let tls: { cert: string; key: string };
  let caPem: string;
  if (flags.kubeletTlsCert && flags.kubeletTlsKey) {
    tls = { cert: readFileSync(flags.kubeletTlsCert, 'utf8'), key: readFileSync(flags.kubeletTlsKey, 'utf8') };
    caPem = tls.cert;
  } else {
    // The PKI (and @peculiar/x509) loads only when a certificate is generated.
    const { KUBELET_PKI, ensureServingPki } = await import('./tls/pki.js');
    mkdirSync(dataDir, { recursive: true });
    const pki = await ensureServingPki(dataDir, listen.host, KUBELET_PKI, extraHosts);
    tls = { cert: pki.certPem, key: pki.keyPem };
    caPem = pki.caCertPem;
  }
  const caFile = flags.kubeletClientCaFile ?? embeddedCaFile;
  return {
    listen,
    tls,
    caPem,
    ...(caFile ? { clientCa: readFileSync(caFile, 'utf8') } : {}),
    tokenWebhook: flags.kubeletAuthenticationTokenWebhook ?? false,
    authorization: flags.kubeletAuthorizationMode ?? (embeddedCaFile ? 'AlwaysAllow' : 'Webhook'),
  };
}
