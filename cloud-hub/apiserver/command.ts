/**
 * `cloud-hub apiserver`: the embedded Kubernetes-wire API on its own. This module only declares
 * the command (cloud-hub's --help lists it); the server itself is imported when the command runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { controllerSettingsFrom, withControllerFlags } from './controller-settings.js';
import { DEFAULT_HISTORY_WINDOW } from './defaults.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses HOST:PORT, [IPv6]:PORT or :PORT (all interfaces). */
export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new InvalidArgumentError(`expected HOST:PORT (port 0 picks a free one), got ${JSON.stringify(value)}`);
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function parsePositiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

interface ApiServerFlags {
  data: string;
  listen: ListenAddress;
  history: number;
  logLevel: string;
  nodeMonitorGracePeriod: number;
  nodeMonitorPeriod: number;
  defaultUnreachableTolerationSeconds: number;
  defaultNotReadyTolerationSeconds: number;
  kubeletEndpoint?: ListenAddress;
  kubeletCa?: string;
}

/** The flags of `apiserver`, on `command`; `mandatory` marks --data required (see apiServerCommand). */
function withFlags(command: Command, mandatory: boolean): Command {
  const data = new Option('--data <dir>', 'data directory (SQLite file, CA, token, kubeconfig)').env('EDGE_DATA');
  return withControllerFlags(command)
    .addOption(mandatory ? data.makeOptionMandatory() : data)
    .addOption(
      new Option('--listen <host:port>', 'address to serve HTTPS on; port 0 picks a free one')
        .env('EDGE_API_LISTEN')
        .default(parseListenAddress('127.0.0.1:6443'), '127.0.0.1:6443')
        .argParser(parseListenAddress),
    )
    .addOption(
      new Option('--history <n>', 'changes kept for watches to resume from (older resourceVersions get 410 Gone)')
        .env('EDGE_API_HISTORY')
        .default(DEFAULT_HISTORY_WINDOW)
        .argParser(parsePositiveInteger),
    )
    .addOption(
      new Option('--kubelet-endpoint <host:port>', 'serve pods/log, exec, attach, portforward and metrics.k8s.io (kubectl logs, exec, port-forward, cp, top) through the hub\'s kubelet endpoint here (cloud-hub --kubelet-listen, which must trust DATA/apiserver-ca.crt: --kubelet-client-ca-file)')
        .env('EDGE_API_KUBELET_ENDPOINT')
        .argParser(parseListenAddress),
    )
    .addOption(new Option('--kubelet-ca <file>', 'with --kubelet-endpoint: the CA of its serving certificate (the hub writes HUBDATA/hub-kubelet-ca.crt); read on each request, so the hub may start later').env('EDGE_API_KUBELET_CA'))
    .addOption(new Option('--log-level <level>', 'pino log level').env('LOG_LEVEL').default('info').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']));
}

/**
 * Our flags, read from the arguments after our name. A parent program that declares flags of
 * the same name (cloud-hub has --data, --listen and --log-level for serving) is handed them by
 * commander even when they follow `apiserver`, unless it enables positional options; reading
 * them again here makes `cloud-hub apiserver --data DIR` mean what it says either way.
 */
function ownFlags(command: Command): ApiServerFlags {
  const parent = command.parent;
  if (!parent) return command.opts<ApiServerFlags>();
  // commander keeps the arguments it parsed in rawArgs (untyped); a program parses process.argv by default.
  const args = ((parent as unknown as { rawArgs?: string[] }).rawArgs ?? process.argv).slice(2);
  const at = args.indexOf(command.name());
  const parser = withFlags(new Command(`${parent.name()} ${command.name()}`), true);
  parser.parse(at >= 0 ? args.slice(at + 1) : [], { from: 'user' });
  return parser.opts<ApiServerFlags>();
}

export function apiServerCommand(): Command {
  return withFlags(new Command('apiserver').description('Serve the embedded Kubernetes-wire API from SQLite over HTTPS and write DIR/kubeconfig.'), false)
    .action(async (_flags: unknown, command: Command) => {
      const flags = ownFlags(command);
      const logger: Logger = pino({ level: flags.logLevel, base: { component: 'apiserver' } });
      const { EmbeddedApiServer } = await import('./server.js');
      const { kubeletEndpoint, kubeletCa } = flags;
      if (kubeletEndpoint && !kubeletCa) throw new Error('--kubelet-endpoint needs --kubelet-ca');
      const kubelet = kubeletEndpoint && kubeletCa ? () => ({ ...kubeletEndpoint, host: kubeletEndpoint.host === '0.0.0.0' ? '127.0.0.1' : kubeletEndpoint.host, ca: readFileSync(kubeletCa, 'utf8') }) : undefined;
      const server = new EmbeddedApiServer({ dataDir: flags.data, host: flags.listen.host, port: flags.listen.port, historyWindow: flags.history, logger, controllers: controllerSettingsFrom(flags), ...(kubelet ? { kubelet } : {}) });
      try {
        await server.start();
      } catch (err) {
        logger.fatal({ err }, 'could not start the embedded API server');
        process.exitCode = 1;
        return;
      }
      logger.info({ api: server.url, kubeconfig: server.kubeconfigPath }, 'ready');
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        server.close().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'error while stopping');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
