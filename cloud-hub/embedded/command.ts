/** `cloud-hub apiserver`: the embedded Kubernetes-wire API on its own. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino, type Logger } from 'pino';
import { DEFAULT_HISTORY_WINDOW, EmbeddedApiServer } from './server.js';

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
}

export function apiServerCommand(): Command {
  return new Command('apiserver')
    .description('Serve the embedded Kubernetes-wire API from SQLite over HTTPS and write DIR/kubeconfig.')
    .addOption(new Option('--data <dir>', 'data directory (SQLite file, CA, token, kubeconfig)').env('EDGE_DATA').makeOptionMandatory())
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
    .addOption(new Option('--log-level <level>', 'pino log level').env('LOG_LEVEL').default('info').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .action(async (flags: ApiServerFlags) => {
      const logger: Logger = pino({ level: flags.logLevel, base: { component: 'apiserver' } });
      const server = new EmbeddedApiServer({ dataDir: flags.data, host: flags.listen.host, port: flags.listen.port, historyWindow: flags.history, logger });
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
