/**
 * The node's token file (`--token-file`). Whoever reads it can be this node, so the agent
 * refuses one that its group or other users can access (the way ssh refuses a private key),
 * naming the file, its mode and the chmod that fixes it.
 *
 * Rotation without a restart: `cloud-hub token create NODE` retires the old token at once and
 * the hub disconnects the node; the agent's next attempt is refused (401), and a refusal makes
 * it read the file again, so writing the new token into the same file is all it takes. SIGHUP
 * re-reads the file too. A file that became unreadable or unsafe is reported and the token in
 * use is kept.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { TokenSource } from './transport.js';

/** Reads and checks the token in `file`; the error names the flag, the file and the fix. */
export function readTokenFile(file: string): string {
  const where = `--token-file ${file}`;
  let mode: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error('not a regular file');
    mode = stat.mode & 0o777;
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `${where}: mode ${mode.toString(8).padStart(4, '0')} lets ${mode & 0o070 ? (mode & 0o007 ? 'its group and other users' : 'its group') : 'other users'} read or change the node's token; ` +
        `only the agent's user may: chmod 600 ${shellQuote(file)} (and chown it to the user the agent runs as)`,
    );
  }
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  if (!token) throw new Error(`${where}: the file is empty (cloud-hub token create NODE prints a token)`);
  if (/\s/.test(token)) throw new Error(`${where}: a token is one line without spaces`);
  return token;
}

export class TokenFile implements TokenSource {
  private token: string;

  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {
    this.token = readTokenFile(file);
  }

  current(): string {
    return this.token;
  }

  refused(): void {
    this.reload('the hub refused the token');
  }

  /** Reads the file again; true when it holds a new token. */
  reload(reason: string): boolean {
    let next: string;
    try {
      next = readTokenFile(this.file);
    } catch (err) {
      this.logger.error({ file: this.file, reason, err: (err as Error).message }, 'cannot read the token file again; keeping the token in use');
      return false;
    }
    if (next === this.token) {
      this.logger.debug({ file: this.file, reason }, 'token file read again: unchanged');
      return false;
    }
    this.token = next;
    this.logger.info({ file: this.file, reason }, 'token file changed; using the new token from the next connection on');
    return true;
  }
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
