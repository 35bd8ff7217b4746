/**
 * Mosquitto credentials from node tokens. Mosquitto checks passwords against its own hash
 * (PBKDF2-SHA512, format `$7$<iterations>$<salt>$<hash>` as mosquitto_passwd writes it), so
 * `token create` stores that hash next to the SHA-256 in the node's Secret; the password file is
 * then built from Secrets without the hub ever holding a token.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';

/** mosquitto_passwd's defaults. */
const ITERATIONS = 101;
const SALT_BYTES = 12;

export function mosquittoPasswordHash(password: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  const hash = pbkdf2Sync(password, salt, ITERATIONS, 64, 'sha512');
  return `$7$${ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Lines `user:hash` for mosquitto's `password_file`. */
export function mosquittoPasswordFile(entries: Iterable<[user: string, hash: string]>): string {
  const lines: string[] = [];
  for (const [user, hash] of entries) {
    if (user.includes(':')) throw new Error(`user ${JSON.stringify(user)} cannot contain ':'`);
    lines.push(`${user}:${hash}`);
  }
  return lines.sort().join('\n') + (lines.length > 0 ? '\n' : '');
}
