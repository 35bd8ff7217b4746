/** Parsing of command-line values shared by the hub's commands; errors name the flag. */
import { InvalidArgumentError } from 'commander';
import pino, { type Logger } from 'pino';
import type { HostPort } from './transport/host-port.js';

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces); port 0 picks a free port. */
export function parseHostPort(value: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`expected HOST:PORT with a port from 0 to 65535, got "${value}"`);
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export function parsePositiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** A pino logger writing JSON lines to stdout (or stderr for commands whose stdout is data). */
export function createLogger(name: string, level: string, toStderr = false): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: toStderr ? 2 : 1, sync: true }));
}
